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
 * without repeats, longest first (ties in order of appearance).
 */
export function keywords(text: string, n: number): string[] {
  const words = (text.toLowerCase().match(/[\p{L}][\p{L}\p{N}'-]*/gu) ?? []).filter(
    (w) => w.length > 1 && !STOPWORDS.has(w),
  );
  return [...new Set(words)]
    .map((w, i) => ({ w, i }))
    .sort((a, b) => b.w.length - a.w.length || a.i - b.i)
    .slice(0, n)
    .map((x) => x.w);
}

/** Numbers as written in `text` (`17%`, `2,340`, `3.5`), in order, without repeats. */
export function numbersIn(text: string): string[] {
  return [
    ...new Set(text.match(/(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|(?<![\w.,])\d+(?:\.\d+)?%?/g) ?? []),
  ];
}
