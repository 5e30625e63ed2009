/** `info`: what the WebGPU adapter is and what it can do. */
import { Command, type CommandUnknownOpts } from "npm:@commander-js/extra-typings@15.1.0";
import { requestGpu } from "../engine/device.ts";

const LIMITS: (keyof GPUSupportedLimits)[] = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
  "minStorageBufferOffsetAlignment",
  "minUniformBufferOffsetAlignment",
];

/** Builds the `info` command. */
export function infoCommand(): CommandUnknownOpts {
  return new Command("info")
    .description("Show the WebGPU adapter, its backend, limits and features")
    .option("--json", "print JSON")
    .action(async (opts) => {
      const gpu = await requestGpu();
      const limits = Object.fromEntries(
        LIMITS.map((k) => [k, gpu.device.limits[k]]),
      );
      const info = {
        adapter: gpu.description,
        backend: gpu.backend.backend,
        backendSource: gpu.backend.source,
        vendor: gpu.adapter.info.vendor,
        architecture: gpu.adapter.info.architecture,
        device: gpu.adapter.info.device,
        software: gpu.isSoftware,
        timestampQueries: gpu.hasTimestamps,
        features: [...gpu.adapter.features].sort(),
        limits,
      };
      if (opts.json) console.log(JSON.stringify(info, null, 2));
      else {
        console.log(`Adapter:   ${info.adapter}${info.software ? " (software)" : ""}`);
        console.log(`Backend:   ${info.backend} (${info.backendSource})`);
        console.log(
          `Vendor:    ${info.vendor || "-"}  Device: ${info.device || "-"}  Architecture: ${
            info.architecture || "-"
          }`,
        );
        console.log(`Timestamp queries: ${info.timestampQueries ? "yes" : "no"}`);
        console.log("Limits (as granted to the engine):");
        for (const [k, v] of Object.entries(limits)) console.log(`  ${k.padEnd(36)} ${v}`);
        console.log(`Features: ${info.features.join(", ")}`);
      }
      gpu.device.destroy();
    });
}
