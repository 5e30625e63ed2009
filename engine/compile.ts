/**
 * Compiling one kernel: a shader module and its compute pipeline, created inside error scopes so
 * that a kernel the backend rejects gives one message instead of an invalid pipeline whose every
 * later use is another uncaptured error.
 */

/** A compute pipeline and the outcome of its compilation. */
export interface CompiledPipeline {
  pipeline: GPUComputePipeline;
  /**
   * Resolves to null when the pipeline compiled, else to the compiler's messages (line numbers
   * counted in the kernel's own file).
   */
  outcome: Promise<string | null>;
}

/**
 * What a backend whose driver compiler rejects a shader reports: wgpu's OpenGL backend raises an
 * internal error without text and logs the GLSL compiler's message to stderr.
 */
const NO_MESSAGE = "the driver's shader compiler rejected it (its message, if any, is on stderr)";

/**
 * Creates a shader module and a compute pipeline for `entry` inside validation and internal
 * error scopes (two scope pushes per new pipeline; pipelines are cached, so this is paid once).
 * `prefixLines` lines were prepended to the kernel's file; messages are reported relative to it.
 */
export function compilePipeline(
  device: GPUDevice,
  code: string,
  entry: string,
  label: string,
  prefixLines: number,
): CompiledPipeline {
  device.pushErrorScope("internal");
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code, label });
  const pipeline = device.createComputePipeline({
    label,
    layout: "auto",
    compute: { module, entryPoint: entry },
  });
  const validation = device.popErrorScope();
  const internal = device.popErrorScope();
  const outcome = Promise.all([validation, internal, module.getCompilationInfo()]).then(
    ([invalid, failed, info]) => {
      const messages = info.messages.filter((m) => m.type === "error").map((m) => {
        const line = m.lineNum - prefixLines;
        const where = line > 0 ? `line ${line}` : `line ${m.lineNum} of the prepended prelude`;
        return `${where}: ${m.message.trim()}`;
      });
      if (!invalid && !failed && !messages.length) return null;
      if (messages.length) return messages.join("\n");
      return (invalid ?? failed)?.message || NO_MESSAGE;
    },
  );
  return { pipeline, outcome };
}
