/**
 * Size limits on inputs, in one place: source images are checked against them before they are
 * decoded, the model's image size when the configuration is resolved. README's "Data formats"
 * documents the same figures.
 */
export const LIMITS = {
  /**
   * Longest side of a source image file, in pixels (PNG IHDR / JPEG SOFn header). 16384 is the
   * largest 2D texture side WebGPU adapters commonly offer; no condition drawing needs more.
   */
  maxImageSide: 16384,
  /**
   * Pixels of a source image file (width x height): 64 Mpx, 8192 x 8192. Decoding holds about
   * 13 bytes per pixel at once (RGBA samples and the float64 gray plane), so 64 Mpx is ~850 MB.
   */
  maxImagePixels: 64 * 1024 * 1024,
  /**
   * Smallest model image size S (`image_size`): the stem and every other residual stage halve
   * the side, 16x with the default five stages, so 16 px leaves the last stage one pixel.
   */
  minImageSize: 16,
  /**
   * Largest model image size S (`image_size`). Images are held as float32, N x S x S x 4 bytes
   * (16 MiB per image at 2048), and a batch of 16 through a 32-filter stem makes a 2 GiB
   * activation at 2048, the largest buffer WebGPU adapters commonly allow.
   */
  maxImageSize: 2048,
} as const;
