/**
 * A static file server for the repository root, so a browser can load `examples/browser/` and the
 * bundle (`deno task serve`, after `deno task bundle`). `tests/browser_test.ts` uses it with a
 * report endpoint that receives what the page POSTs.
 */

/** Options of {@link serveRepository}. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Called with the body of each POST to `/report`. */
  onReport?: (body: string) => void;
}

const ROOT = new URL("../", import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  css: "text/css",
  map: "application/json",
};

/** Serves the repository's files on 127.0.0.1 (GET) and the report endpoint (POST /report). */
export function serveRepository(options: ServeOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: options.port, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      if (request.method === "POST" && url.pathname === "/report") {
        options.onReport?.(await request.text());
        return new Response(null, { status: 204 });
      }
      const file = new URL(`.${decodeURIComponent(url.pathname)}`, ROOT);
      if (request.method !== "GET" || !file.href.startsWith(ROOT.href)) {
        return new Response("not found", { status: 404 });
      }
      try {
        const body = await Deno.readFile(file);
        const ext = file.pathname.split(".").at(-1) ?? "";
        const type = CONTENT_TYPES[ext] ?? "application/octet-stream";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
}

if (import.meta.main) {
  const server = serveRepository({ port: Number(Deno.args[0] ?? 8000) });
  console.log(
    `http://127.0.0.1:${server.addr.port}/examples/browser/index.html (Ctrl-C to stop)`,
  );
}
