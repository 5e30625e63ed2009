/** Finding Chromium for the tests that need a browser. */

/**
 * Chromium's path: $CHROMIUM, else the first of the usual names on PATH. Throws naming the test
 * file that needs it and how to install it.
 */
export async function findChromium(testFile: string): Promise<string> {
  const given = Deno.env.get("CHROMIUM");
  if (given) return given;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter(Boolean);
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    for (const dir of dirs) {
      const path = `${dir}/${name}`;
      if (await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
    }
  }
  throw new Error(
    `${testFile} needs Chromium, which was not found on PATH: install it ` +
      "(`apt-get install -y chromium`) or set CHROMIUM to its binary",
  );
}
