/**
 * The words of a request the offline model builds its replies from: its content words (topics,
 * entities, memory queries) and its numbers as written. Pure string work, deterministic.
 */

/** Words that carry no topic: function words, question words and the phrases of recall requests. */
const STOPWORDS = new Set(
  (
    "a an and are as at be but by can could did do does for from had has have how i in is it its me my of on or " +
    "please should so tell that the this to was we were what when where which who why will with would you your " +
    "what's how's it's i'm there's let's " +
    "about last time earlier previous previously before discussed discuss remember talked us our"
  ).split(" "),
);

/**
 * Up to `n` content words of `text` (stopwords and one-letter words left out), lower-cased,
 * without repeats, in order of appearance. Unlike {@link keywords} the order is the text's, so
 * capping `n` keeps the first words: what a tool description is read by (its opening words say
 * what the tool is for).
 */
export function contentWords(text: string, n: number): string[] {
  const out = new Set<string>();
  for (const [w] of text.toLowerCase().matchAll(/[\p{L}][\p{L}\p{N}'-]*/gu)) {
    if (out.size >= n) break;
    if (w.length > 1 && !STOPWORDS.has(w)) out.add(w);
  }
  return [...out];
}

/**
 * Up to `n` content words of `text` (stopwords and one-letter words left out), lower-cased,
 * without repeats, longest first (ties in order of appearance).
 */
export function keywords(text: string, n: number): string[] {
  return contentWords(text, Number.POSITIVE_INFINITY)
    .map((w, i) => ({ w, i }))
    .sort((a, b) => b.w.length - a.w.length || a.i - b.i)
    .slice(0, n)
    .map((x) => x.w);
}

/**
 * `text` as lower-case words (letters and digits; camelCase split, so `querySales` reads as
 * `query sales`) joined by single spaces, with one space at each end: `"Query_Sales!"` →
 * `" query sales "`. Searching one such string for another finds a whole-word phrase without
 * building a regular expression from untrusted text (a tool name, an enum member).
 */
export function spacedWords(text: string): string {
  const words = text
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, "$1 $2")
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu);
  return ` ${(words ?? []).join(" ")} `;
}

/** Numbers as written in `text` (`17%`, `2,340`, `3.5`), in order, without repeats. */
export function numbersIn(text: string): string[] {
  return [
    ...new Set(text.match(/(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|(?<![\w.,])\d+(?:\.\d+)?%?/g) ?? []),
  ];
}
