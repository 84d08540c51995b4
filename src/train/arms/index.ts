// The registry of arms: every reader (config validation, the optimiser, the CLI, the page, the
// formats, verify, the figures) takes the list from here, so an arm is added in one place.
import type { Arm } from './arm.js';
import { l2 } from './l2.js';
import { lrd } from './lrd.js';
import { radial } from './radial.js';
import { polar } from './polar.js';
import { prox } from './prox.js';
import { grokfast } from './grokfast.js';
import { orthograd } from './orthograd.js';
import { muon } from './muon.js';
import { luon } from './luon.js';

/** Every arm, in the order help, tables and figures list them. */
export const ARM_LIST = [l2, lrd, radial, polar, prox, grokfast, orthograd, muon, luon] as const satisfies readonly Arm[];

export const DECAYS = ['l2', 'lrd', 'radial', 'polar', 'prox', 'grokfast', 'orthograd', 'muon', 'luon'] as const;
export type Decay = (typeof DECAYS)[number];

export const ARM_BY_NAME: Record<Decay, Arm> = Object.fromEntries(ARM_LIST.map((a) => [a.name, a])) as Record<Decay, Arm>;

export function armOf(name: Decay): Arm {
  return ARM_BY_NAME[name];
}

export { ARM_FIELDS, type Arm, type ArmField, type ArmStep, type ArmBuffers } from './arm.js';
