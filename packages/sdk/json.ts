/** A JSON value: what a stage's output, its emitted data and a tool's input may hold (they are stored as JSON). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
