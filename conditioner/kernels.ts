/**
 * The conditioner's own WGSL kernels (conditioner/shaders/, carried by the generated module),
 * registered with the engine's kernel cache under the names below.
 */
import { registerShader } from "../engine/kernels.ts";
import { WGSL } from "./shaders.generated.ts";

/** GPU augmentation: per-sample flips, shifts, rotation, scaling, noise; mixup rows. */
export const AUGMENT_SHADER: string = registerShader("augment", WGSL.augment);
/** The fused multi-scale robust loss (forward and gradients in one pass). */
export const ROBUST_LOSS_SHADER: string = registerShader("robust_loss", WGSL.robust_loss);
