// The platform-neutral API: everything except finding the .wasm file. The Node entry
// (index.ts) and the browser worker both build on this.
export { ADAM, ConfigError, DEFAULT_CONFIG, FIELDS, checkFieldValue, describeRange, resolveConfig } from './config.js';
export type { Decay, FieldSpec, RunConfig } from './config.js';
export { parameterTable, parameterCount } from './params.js';
export type { ModelShape, ParamSpec } from './params.js';
export { CHECKPOINT_FORMAT, CheckpointError, GROK_ACCURACY, Trainer, optimizerGroups } from './trainer.js';
export type { EvalInfo, OptimizerGroup, ProductRunner, RunOptions, RunResult, StepInfo } from './trainer.js';
export { BACKENDS, operandSizes } from './matmul_call.js';
export type { Backend, MatmulCall, MatmulLayout, MatmulWork } from './matmul_call.js';
export { applyBackend, parseBackend } from './backend.js';
export { WebGpuMatmul, requestGpu } from './webgpu_matmul.js';
export type { GpuChoice } from './webgpu_matmul.js';
export { compileKernels, loadKernels, loadKernelsSync } from './wasm.js';
export type { KernelExports, WasmSource } from './wasm.js';
export { matmulWith, newtonSchulzWith, singularValuesWith } from './linalg.js';
export { CHECK_SHAPES, PRODUCT_TOLERANCE, checkGpuMatmul } from './webgpu_check.js';
export type { CheckReport, CheckRow } from './webgpu_check.js';
export { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors.js';
export type { Dtype, Tensor, TensorData } from './safetensors.js';
export { TASKS, TASK_FORMULA, taskTarget, isPrime } from './tasks.js';
export type { Task } from './tasks.js';
export { readStateDict, saveStateDict } from './state_dict.js';
export { parseResult, verifyResult } from './verify.js';
export type { VerifyReport, VerifyRow } from './verify.js';
export { ARM_LABEL, mechanismSpec, phaseSpec, trainingSpec } from './charts.js';
export type { Arm, MechanismData, PhaseCell } from './charts.js';
export { PRESET, PRESETS, armConfig, canonicalOrder, cellKey, parseArms, parseList, resolveShard, historyCsv, mechanismConfigs, mechanismData, shardCells, summarize, summaryCsv, sweepCells } from './experiments.js';
export type { CellRecord, Preset, PresetName, SweepCell } from './experiments.js';
