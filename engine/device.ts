/** Adapter and device acquisition with the limits the engine needs. */

/** Options for {@link requestGpu}. */
export interface DeviceOptions {
  /** Passed to `navigator.gpu.requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /** Extra limits to request; each is clamped to what the adapter supports. */
  requiredLimits?: Record<string, number>;
}

/** The adapter and device an engine runs on. */
export interface GpuContext {
  /** The adapter the device was requested from. */
  adapter: GPUAdapter;
  /** The device the engine runs on. */
  device: GPUDevice;
  /** Human-readable adapter description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** True for a software (CPU) adapter such as Mesa's llvmpipe. */
  isSoftware: boolean;
  /** Whether `timestamp-query` was enabled on the device. */
  hasTimestamps: boolean;
}

const NO_ADAPTER_HELP = [
  "No WebGPU adapter is available (navigator.gpu.requestAdapter() returned null).",
  "Without a GPU, install Mesa's software Vulkan driver: `apt-get install -y mesa-vulkan-drivers`",
  "(on other systems: a Vulkan, Metal or D3D12 driver). `vulkaninfo --summary` shows what Vulkan sees.",
].join("\n");

/** Limits the engine asks for, clamped to the adapter's. */
const WANTED_LIMITS: Record<string, number> = {
  maxStorageBufferBindingSize: 2 ** 31 - 1,
  maxBufferSize: 2 ** 31 - 1,
  maxStorageBuffersPerShaderStage: 10,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxTextureDimension2D: 16384,
};

/**
 * Mesa's Vulkan driver complains on stderr when XDG_RUNTIME_DIR is unset; under Deno, point it at
 * the temp folder (only when we may read and set the environment; other runtimes are left alone).
 */
function quietDriverWarning(): void {
  const env = (globalThis as { Deno?: typeof Deno }).Deno?.env;
  try {
    if (env && !env.get("XDG_RUNTIME_DIR")) env.set("XDG_RUNTIME_DIR", env.get("TMPDIR") ?? "/tmp");
  } catch {
    // No env permission: the warning is harmless.
  }
}

/** Requests an adapter and a device; throws an explanatory error when WebGPU is unavailable. */
export async function requestGpu(options: DeviceOptions = {}): Promise<GpuContext> {
  quietDriverWarning();
  if (typeof navigator === "undefined" || !("gpu" in navigator)) {
    throw new Error(
      "WebGPU is not available in this runtime (navigator.gpu is missing).\n" + NO_ADAPTER_HELP,
    );
  }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const requiredLimits: Record<string, number> = {};
  const wanted = { ...WANTED_LIMITS, ...options.requiredLimits };
  const supported = adapter.limits as unknown as Record<string, number>;
  for (const [name, value] of Object.entries(wanted)) {
    const max = supported[name];
    if (max === undefined) continue;
    requiredLimits[name] = Math.min(value, max);
  }
  const hasTimestamps = adapter.features.has("timestamp-query");
  const requiredFeatures: GPUFeatureName[] = hasTimestamps ? ["timestamp-query"] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const info = adapter.info;
  const description = info.description || [info.vendor, info.architecture, info.device]
    .filter(Boolean).join(" ");
  const isSoftware = info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader/i.test(description);
  return { adapter, device, description, isSoftware, hasTimestamps };
}
