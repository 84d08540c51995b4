// Numbers as a person types them into a flag, a list or a URL: decimal only. Number() also
// reads 0x0b, 0b1011, 0o17 and Infinity; a value that means one thing to the tool and another
// to the person reading the command line is refused instead.

const INTEGER = /^[+-]?\d+$/;
const REAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The value of `text` (trimmed) as a decimal integer (kind 'int') or a decimal real with an
 * optional exponent (kind 'float'); NaN for anything else, which every caller refuses in one line.
 */
export function parseDecimal(text: string, kind: 'int' | 'float'): number {
  const t = text.trim();
  return (kind === 'int' ? INTEGER : REAL).test(t) ? Number(t) : NaN;
}
