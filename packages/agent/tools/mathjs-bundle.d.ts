/** mathjs's prebuilt UMD build (see calculator-scope.ts): the same API as the "mathjs" entry. */
declare module "mathjs/lib/browser/math.js" {
  const mathjs: typeof import("mathjs");
  export default mathjs;
}
