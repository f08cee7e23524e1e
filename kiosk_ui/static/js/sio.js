// The screens' link to the edge: the official socket.io-client (npm, vendored into
// static/vendor/ by `make`), wrapped in the small API the screens use:
//   new SocketClient(namespace, {auth, onStatus}); .on(event, fn); .emit(event, data) -> Promise
//   of the acknowledgement; .connect(); .close().
// onStatus receives "connected", "disconnected" or "refused" (with the server's reason).
// WebSocket only, like the server; reconnection with backoff is the library's own.

import { io } from "../vendor/socket.io.esm.min.js";

const ACK_TIMEOUT_MS = 8000;

export class SocketClient {
  constructor(namespace, { auth = {}, onStatus = () => {} } = {}) {
    this.onStatus = onStatus;
    this.socket = io(namespace, {
      auth,
      transports: ["websocket"],
      autoConnect: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 15000,
    });
    this.socket.on("connect", () => this.onStatus("connected"));
    this.socket.on("disconnect", (reason) => {
      // NB: the server cut this namespace (kiosk revoked, session ended): no reconnection.
      if (reason === "io server disconnect") this.onStatus("refused", reason);
      else this.onStatus("disconnected");
    });
    this.socket.on("connect_error", (error) => {
      // NB: a refusal by the server (not enrolled, signed out) is final until the page reloads.
      if (!this.socket.active) this.onStatus("refused", error && error.message);
      else this.onStatus("disconnected");
    });
  }

  get connected() {
    return this.socket.connected;
  }

  on(event, handler) {
    this.socket.on(event, handler);
    return this;
  }

  connect() {
    this.socket.connect();
    return this;
  }

  close() {
    this.socket.disconnect();
  }

  emit(event, data) {
    if (!this.socket.connected) return Promise.reject(new Error("offline"));
    return this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, data === undefined ? {} : data);
  }
}
