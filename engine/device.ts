/** Adapter and device acquisition with the limits the engine needs. */

/** Options for {@link requestGpu}. */
export interface DeviceOptions {
  /**
   * The WebGPU entry point to use instead of `navigator.gpu`: e.g. Dawn's `create([])` from the
   * npm package `webgpu`, in Node or in Deno.
   */
  gpu?: GPU;
  /** Passed to `requestAdapter`. */
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
  /** The native API under WebGPU and how that is known ({@link detectBackend}). */
  backend: BackendInfo;
  /** True for a software (CPU) adapter such as Mesa's llvmpipe. */
  isSoftware: boolean;
  /** Whether `timestamp-query` was enabled on the device. */
  hasTimestamps: boolean;
}

/** Native APIs Deno's WebGPU (wgpu) runs on; "unknown" where the runtime does not say. */
export type Backend = "vulkan" | "gl" | "metal" | "dx12" | "unknown";

/** Which backend an adapter runs on. */
export interface BackendInfo {
  /** The backend, e.g. "vulkan" or "gl". */
  backend: Backend;
  /** How it was found, e.g. "DENO_WEBGPU_BACKEND=gl" or "inferred: no subgroup sizes". */
  source: string;
}

// Names wgpu accepts in DENO_WEBGPU_BACKEND (a comma-separated list), by backend.
const BACKEND_NAMES: Record<string, Backend> = {
  vulkan: "vulkan",
  vk: "vulkan",
  gl: "gl",
  gles: "gl",
  opengl: "gl",
  metal: "metal",
  mtl: "metal",
  dx12: "dx12",
  d3d12: "dx12",
};

function env(name: string): string | undefined {
  try {
    return (globalThis as { Deno?: typeof Deno }).Deno?.env.get(name);
  } catch {
    return undefined; // no env permission
  }
}

/**
 * The backend of an adapter. WebGPU does not report it, so under Deno: the one
 * `DENO_WEBGPU_BACKEND` names, else Metal on macOS, else OpenGL when the adapter reports wgpu's
 * placeholder subgroup sizes 4..128 (OpenGL has no subgroup query; Vulkan drivers report their
 * own sizes: llvmpipe 8, SwiftShader 4), else Vulkan on Linux. Other runtimes: "unknown".
 */
export function detectBackend(info: GPUAdapterInfo): BackendInfo {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) return { backend: "unknown", source: "not reported by this runtime" };
  const requested = env("DENO_WEBGPU_BACKEND");
  const named = new Set(
    (requested ?? "").split(",").map((n) => BACKEND_NAMES[n.trim().toLowerCase()]).filter(Boolean),
  );
  if (named.size === 1) {
    return { backend: [...named][0], source: `DENO_WEBGPU_BACKEND=${requested}` };
  }
  if (deno.build.os === "darwin") return { backend: "metal", source: "inferred: macOS" };
  const sizes = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  if (sizes.subgroupMinSize === 4 && sizes.subgroupMaxSize === 128) {
    return { backend: "gl", source: "inferred: no subgroup sizes reported" };
  }
  if (deno.build.os === "linux") {
    return { backend: "vulkan", source: "inferred: Linux, subgroup sizes reported" };
  }
  return { backend: "unknown", source: "set DENO_WEBGPU_BACKEND to name it" };
}

/**
 * What to do when a backend cannot run a kernel: the other backends this engine is tested on,
 * and how to pick them.
 */
export function backendAdvice(backend: Backend): string {
  if (backend === "gl") {
    return "install Mesa's Vulkan driver (apt-get install -y mesa-vulkan-drivers) or a GPU's " +
      "Vulkan driver and set DENO_WEBGPU_BACKEND=vulkan";
  }
  if (backend === "vulkan") {
    return "try another Vulkan driver (VK_ICD_FILENAMES=<its icd.json>, e.g. Mesa's lavapipe " +
      "from mesa-vulkan-drivers) or OpenGL (DENO_WEBGPU_BACKEND=gl)";
  }
  return "try another backend (DENO_WEBGPU_BACKEND=vulkan or gl)";
}

/** Packages that give Deno an adapter without a GPU, per backend (Debian/Ubuntu names). */
const INSTALL: Record<"vulkan" | "gl", string> = {
  vulkan: "Mesa's software Vulkan driver (apt-get install -y mesa-vulkan-drivers)",
  gl: "Mesa's OpenGL/EGL driver (apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri)",
};

/** The error for a missing adapter: its first line says what to install. */
function noAdapterHelp(reason: string): string {
  const requested = env("DENO_WEBGPU_BACKEND");
  const icd = env("VK_ICD_FILENAMES") ?? env("VK_DRIVER_FILES");
  const named = requested === undefined ? undefined : BACKEND_NAMES[requested.trim().toLowerCase()];
  const install = named === "gl"
    ? INSTALL.gl
    : `${INSTALL.vulkan} or a GPU's Vulkan driver (macOS and Windows: the system's Metal or D3D12)`;
  return [
    `No WebGPU adapter: install ${install}.`,
    reason,
    requested === undefined ? "" : `DENO_WEBGPU_BACKEND=${requested} limits Deno to that ` +
      `backend; unset it to let Deno pick any (Vulkan, else OpenGL: ${INSTALL.gl}).`,
    icd
      ? `The Vulkan loader reads only the driver manifest(s) named by VK_ICD_FILENAMES or ` +
        `VK_DRIVER_FILES: ${icd}`
      : "",
    "`vulkaninfo --summary` (package vulkan-tools) shows what Vulkan sees.",
  ].filter(Boolean).join("\n");
}

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

/** PCI vendor ids of CPU drivers: Mesa (llvmpipe, lavapipe) and Google's SwiftShader. */
const CPU_DRIVER_VENDORS = [0x10005, 0x1ae0];
/** Names of CPU drivers in an adapter's description, vendor or architecture. */
const CPU_DRIVER_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i;

/**
 * Whether an adapter runs on the CPU: the fallback flag, a CPU driver's name in the description,
 * vendor or architecture (Dawn reports vendor "google", architecture "swiftshader"), or a CPU
 * driver's vendor id (wgpu reports Mesa's as "65541" and an empty architecture).
 */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  if ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true) return true;
  const names = [info.description, info.vendor, info.architecture, info.device].join(" ");
  return CPU_DRIVER_NAMES.test(names) || CPU_DRIVER_VENDORS.includes(Number(info.vendor));
}

/** Requests an adapter and a device; throws an explanatory error when WebGPU is unavailable. */
export async function requestGpu(options: DeviceOptions = {}): Promise<GpuContext> {
  quietDriverWarning();
  const gpu = options.gpu ??
    (typeof navigator !== "undefined" && "gpu" in navigator ? navigator.gpu : undefined);
  if (!gpu) {
    throw new Error(noAdapterHelp("This runtime has no WebGPU (navigator.gpu is missing)."));
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) throw new Error(noAdapterHelp("requestAdapter() returned null."));
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
  const isSoftware = isSoftwareAdapter(info);
  return { adapter, device, description, backend: detectBackend(info), isSoftware, hasTimestamps };
}
