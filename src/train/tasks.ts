// The binary operations of the original grokking paper (Power et al. 2022), all mod p. Integer
// arithmetic only: every intermediate stays below 2^53 for p <= 2000, so results are exact.

export const TASKS = ['add', 'sub', 'mul', 'div', 'x2y2', 'x2xyy2', 'x3xy'] as const;
export type Task = (typeof TASKS)[number];

/** Tasks with a op b = b op a: for them a validation pair's mirror (b, a) can carry its answer. */
export const COMMUTATIVE: Record<Task, boolean> = {
  add: true, sub: false, mul: true, div: false, x2y2: true, x2xyy2: true, x3xy: false,
};

export const TASK_FORMULA: Record<Task, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b (b != 0, p prime)',
  x2y2: 'a^2 + b^2', x2xyy2: 'a^2 + ab + b^2', x3xy: 'a^3 + ab',
};

function mod(x: number, p: number): number {
  return ((x % p) + p) % p;
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

// b^(p-2) mod p, the inverse of b for prime p (Fermat), by square-and-multiply.
function inverse(b: number, p: number): number {
  let result = 1, base = b % p, e = p - 2;
  while (e > 0) {
    if (e & 1) result = (result * base) % p;
    base = (base * base) % p;
    e = Math.floor(e / 2);
  }
  return result;
}

/** The task's answer for operands a, b in [0, p). */
export function taskTarget(task: Task, a: number, b: number, p: number): number {
  switch (task) {
    case 'add': return (a + b) % p;
    case 'sub': return mod(a - b, p);
    case 'mul': return (a * b) % p;
    case 'div': return (a * inverse(b, p)) % p;
    case 'x2y2': return (a * a + b * b) % p;
    case 'x2xyy2': return (a * a + a * b + b * b) % p;
    case 'x3xy': return (((a * a) % p) * a + a * b) % p;
  }
}

/** Whether (a, b) is in the task's domain: division excludes b = 0. */
export function inDomain(task: Task, _a: number, b: number): boolean {
  return task !== 'div' || b !== 0;
}
