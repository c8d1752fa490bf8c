// One WebSocket to /ws that keeps its channels through drops: after a
// reconnect each channel is subscribed again with the last offset and epoch
// seen, so the server replays what was missed (or sends a fresh snapshot).

const MAX_DELAY_MS = 15000;

export class LiveChannels {
  constructor({ onStatus = () => {} } = {}) {
    this.onStatus = onStatus;
    this.channels = new Map(); // channel -> {handler, offset, epoch}
    this.attempt = 0;
    this.closed = false;
    this.connect();
  }

  subscribe(channel, handler) {
    this.channels.set(channel, { handler, offset: null, epoch: null });
    this.sendSubscribe(channel);
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000);
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.onStatus(this.attempt ? "reconnecting" : "connecting");
    this.socket.addEventListener("open", () => {
      this.attempt = 0;
      this.onStatus("live");
      for (const channel of this.channels.keys()) this.sendSubscribe(channel);
    });
    this.socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    this.socket.addEventListener("close", () => {
      if (this.closed) return;
      this.attempt += 1;
      this.onStatus("reconnecting");
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** (this.attempt - 1)) * (0.5 + Math.random() / 2);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    });
  }

  sendSubscribe(channel) {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    const state = this.channels.get(channel);
    const frame = { op: "subscribe", channel };
    if (state.offset !== null) {
      frame.since = state.offset;
      frame.epoch = state.epoch;
    }
    this.socket.send(JSON.stringify(frame));
  }

  receive(frame) {
    const state = this.channels.get(frame.channel);
    if (frame.op === "error") {
      console.warn("rateline:", frame.code, frame.message);
      return;
    }
    if (!state) return;
    if (frame.op === "subscribed") {
      state.epoch = frame.epoch;
      if (state.offset === null || frame.recovered === false) state.offset = frame.offset;
    } else if (frame.op === "snapshot" || frame.op === "update") {
      state.offset = frame.offset;
      state.handler(frame);
    }
  }
}
