/**
 * Lingering close, as Apache's and nginx's: a reply sent before the request body was read leaves
 * the client still uploading (a 413 for a body over the limit, which fastify marks `connection:
 * close`). Closing the socket then, with the upload's bytes unread, makes the kernel answer with
 * a TCP reset, and the reset makes the client's stack drop the reply it has not read yet: the
 * client sees a connection error instead of the 413. So such a socket is not closed as Node would
 * (end, then destroy once the reply is written): the server half-closes after the reply and reads
 * and discards what still arrives until the client closes its side, at most `maxBytes` bytes or
 * `maxMs` milliseconds, and only then closes.
 */
import type { FastifyInstance } from "fastify";
import type { Socket } from "node:net";

export function installLingeringClose(app: FastifyInstance, maxBytes: number, maxMs: number): void {
  app.addHook("onSend", async (req, reply, payload) => {
    if (!req.raw.complete && String(reply.getHeader("connection")).toLowerCase() === "close")
      lingerOnClose(req.raw.socket, maxBytes, maxMs);
    return payload;
  });
}

/** Replaces the close Node's server makes once a `connection: close` reply is written. */
function lingerOnClose(socket: Socket, maxBytes: number, maxMs: number): void {
  socket.destroySoon = () => {
    let read = 0;
    const close = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(close, maxMs);
    socket.on("data", (b: Buffer) => {
      read += b.length;
      if (read > maxBytes) close();
    });
    socket.once("end", close);
    socket.once("close", () => clearTimeout(timer));
    socket.end();
    socket.resume();
  };
}
