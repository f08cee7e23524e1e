// A small Socket.IO v5 client over Engine.IO v4, WebSocket transport only.
// Written for this project: the screens need connect (with auth), events,
// acknowledgements, heartbeats and reconnection with backoff, nothing more.
//
// Engine.IO packets: "0" open {sid, pingInterval, pingTimeout}, "1" close,
// "2" ping (answer "3" pong), "4" message (carries one Socket.IO packet).
// Socket.IO packets: "0" connect, "1" disconnect, "2" event, "3" ack,
// "4" connect error; "/ns," follows the type for a non-root namespace, then an
// optional ack id, then JSON.

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15000;
const ACK_TIMEOUT_MS = 8000;

export function parseSocketPacket(text) {
  // text is a Socket.IO packet (the Engine.IO "4" already removed)
  const type = Number(text[0]);
  let rest = text.slice(1);
  let namespace = "/";
  if (rest.startsWith("/")) {
    const comma = rest.indexOf(",");
    namespace = comma === -1 ? rest : rest.slice(0, comma);
    rest = comma === -1 ? "" : rest.slice(comma + 1);
  }
  const idMatch = /^\d+/.exec(rest);
  const id = idMatch ? Number(idMatch[0]) : null;
  if (idMatch) rest = rest.slice(idMatch[0].length);
  let data = null;
  if (rest.length) {
    try {
      data = JSON.parse(rest);
    } catch {
      return null;
    }
  }
  return { type, namespace, id, data };
}

export class SocketClient {
  constructor(namespace, { auth = {}, onStatus = () => {}, path = "/socket.io/" } = {}) {
    this.namespace = namespace;
    this.auth = auth;
    this.onStatus = onStatus;
    this.path = path;
    this.handlers = new Map();
    this.pending = new Map();
    this.nextAckId = 1;
    this.attempt = 0;
    this.connected = false;
    this.closedByUser = false;
    this.ws = null;
    this.heartbeat = null;
    this.retryTimer = null;
  }

  get prefix() {
    return this.namespace === "/" ? "" : `${this.namespace},`;
  }

  on(event, handler) {
    this.handlers.set(event, handler);
    return this;
  }

  connect() {
    this.closedByUser = false;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const url = `${scheme}://${location.host}${this.path}?EIO=4&transport=websocket`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (message) => {
      if (typeof message.data === "string") this.receive(message.data);
    };
    ws.onclose = () => this.lost(ws);
    ws.onerror = () => ws.close();
  }

  close() {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close();
  }

  receive(text) {
    switch (text[0]) {
      case "0":
        this.opened(JSON.parse(text.slice(1)));
        break;
      case "1":
        this.ws.close();
        break;
      case "2":
        this.send("3");
        this.armHeartbeat();
        break;
      case "4":
        this.socketPacket(text.slice(1));
        break;
      default:
        break; // "3" pong, "6" noop: nothing to do
    }
  }

  opened(handshake) {
    this.pingWindow = (handshake.pingInterval || 25000) + (handshake.pingTimeout || 20000);
    this.armHeartbeat();
    this.send(`40${this.prefix}${JSON.stringify(this.auth)}`);
  }

  armHeartbeat() {
    // The server pings every pingInterval; silence for longer means a dead link.
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => this.ws && this.ws.close(), this.pingWindow);
  }

  socketPacket(text) {
    const packet = parseSocketPacket(text);
    if (!packet || packet.namespace !== this.namespace) return;
    if (packet.type === 0) {
      this.connected = true;
      this.attempt = 0;
      this.onStatus("connected");
    } else if (packet.type === 1) {
      this.ws.close();
    } else if (packet.type === 2 && Array.isArray(packet.data)) {
      const [event, ...args] = packet.data;
      const handler = this.handlers.get(event);
      if (handler) handler(...args);
    } else if (packet.type === 3 && this.pending.has(packet.id)) {
      const { resolve, timer } = this.pending.get(packet.id);
      clearTimeout(timer);
      this.pending.delete(packet.id);
      resolve(Array.isArray(packet.data) ? packet.data[0] : packet.data);
    } else if (packet.type === 4) {
      this.onStatus("refused", packet.data && packet.data.message);
      this.ws.close(); // try again later, with backoff
    }
  }

  emit(event, data) {
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Error("offline"));
        return;
      }
      const id = this.nextAckId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error("timeout"));
      }, ACK_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.send(`42${this.prefix}${id}${JSON.stringify([event, data ?? {}])}`);
    });
  }

  send(text) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  lost(ws) {
    if (ws !== this.ws) return;
    clearTimeout(this.heartbeat);
    this.ws = null;
    const wasConnected = this.connected;
    this.connected = false;
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error("offline"));
    }
    this.pending.clear();
    if (wasConnected || this.attempt === 0) this.onStatus("disconnected");
    if (!this.closedByUser) this.scheduleReconnect();
  }

  scheduleReconnect() {
    // Exponential backoff with jitter, so a store's screens do not reconnect in lockstep.
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
