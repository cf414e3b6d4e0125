// The stem player's audio engine: every stem plays from short decoded
// segments scheduled on one AudioContext clock, so the stems cannot drift
// apart (each segment's start time is computed from the same anchor), and
// only a few seconds of decoded audio are held at a time (memory stays small
// for long songs with many stems). Tempo: the sources' playbackRate, with
// SoundTouch's AudioWorklet restoring the pitch (and shifting it in
// semitones).

/** Seconds of audio scheduled ahead of the playhead (real time). */
const LOOKAHEAD = 3;
/** Scheduler tick, ms. */
const TICK_MS = 80;
/** Segments fetched at once. */
const MAX_FETCHES = 4;

export class StemEngine {
  /**
   * @param {object} o
   * @param {AudioContext} o.ctx
   * @param {string[]} o.stems stem names
   * @param {number} o.duration seconds
   * @param {number} o.segmentSeconds
   * @param {(stem: string, index: number) => string} o.segmentUrl
   * @param {any} [o.SoundTouchNode] the worklet node class (registered on ctx)
   */
  constructor(o) {
    this.ctx = o.ctx;
    this.duration = o.duration;
    this.seg = o.segmentSeconds;
    this.segmentUrl = o.segmentUrl;
    this.segmentCount = Math.max(1, Math.ceil(this.duration / this.seg));
    this.tempo = 1;
    this.semitones = 0;
    this.loop = null; // { a, b }
    this.playing = false;
    this.anchor = { ctxTime: 0, position: 0, id: 0 };
    this.onend = () => {};
    this.buffers = new Map(); // "stem:n" -> { promise, buffer, used }
    this.fetching = 0;
    this.queue = [];
    this.scheduled = new Map(); // key -> AudioBufferSourceNode
    this.started = new Set(); // stems that have sounded since the last play()
    this.bus = this.ctx.createGain();
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 16384;
    this.analyser.smoothingTimeConstant = 0;
    this.analyser.connect(this.ctx.destination);
    this.stretch = o.SoundTouchNode ? new o.SoundTouchNode({ context: this.ctx }) : null;
    if (this.stretch) this.stretch.connect(this.analyser);
    this.route();
    this.stems = o.stems.map((name) => {
      const gain = this.ctx.createGain();
      gain.connect(this.bus);
      return { name, gain, volume: 1, muted: false, solo: false };
    });
    this.timer = null;
  }

  // ---- routing and levels -------------------------------------------------

  /** SoundTouch only when it has work: at 100 % and 0 semitones the stems go straight out. */
  route() {
    const needed = this.stretch && (this.tempo !== 1 || this.semitones !== 0);
    this.bus.disconnect();
    this.bus.connect(needed ? this.stretch : this.analyser);
    if (this.stretch) {
      this.stretch.playbackRate.value = this.tempo;
      this.stretch.pitchSemitones.value = this.semitones;
    }
  }

  stem(name) {
    return this.stems.find((s) => s.name === name);
  }

  /** What each stem is heard at: 0 when muted or another stem is soloed. */
  effectiveGain(s) {
    const anySolo = this.stems.some((x) => x.solo);
    if (s.muted || (anySolo && !s.solo)) return 0;
    return s.volume;
  }

  applyGains() {
    for (const s of this.stems) s.gain.gain.setTargetAtTime(this.effectiveGain(s), this.ctx.currentTime, 0.005);
  }

  setVolume(name, volume) {
    this.stem(name).volume = volume;
    this.applyGains();
  }
  setMuted(name, muted) {
    this.stem(name).muted = muted;
    this.applyGains();
  }
  setSolo(name, solo) {
    this.stem(name).solo = solo;
    this.applyGains();
  }

  // ---- the timeline ---------------------------------------------------------

  /** Source seconds played since the anchor. */
  elapsed(at = this.ctx.currentTime) {
    return Math.max(0, (at - this.anchor.ctxTime) * this.tempo);
  }

  /** The pieces of song the anchor plays, in order: up to B, then A..B again and again while a loop is set. */
  *pieces() {
    const start = this.anchor.position;
    const loop = this.loop;
    if (!loop || start >= loop.b) {
      yield { from: start, to: this.duration, v: 0, index: 0 };
      return;
    }
    yield { from: start, to: loop.b, v: 0, index: 0 };
    const len = loop.b - loop.a;
    for (let k = 1; k < 100000; k++) yield { from: loop.a, to: loop.b, v: loop.b - start + (k - 1) * len, index: k };
  }

  /** The playhead, in song seconds. */
  position(at = this.ctx.currentTime) {
    if (!this.playing) return this.anchor.position;
    const v = this.elapsed(at);
    for (const p of this.pieces()) {
      if (v < p.v + (p.to - p.from)) return p.from + (v - p.v);
      if (p.index > 0 && !this.loop) break;
      if (!this.loop || this.anchor.position >= this.loop.b) return this.duration;
    }
    return this.duration;
  }

  reanchor(position, ctxTime) {
    this.stopSources();
    this.anchor = { ctxTime, position: Math.min(Math.max(0, position), this.duration), id: this.anchor.id + 1 };
  }

  stopSources() {
    for (const src of this.scheduled.values()) {
      try {
        src.onended = null;
        src.stop();
        src.disconnect();
      } catch {
        // already stopped
      }
    }
    this.scheduled.clear();
  }

  // ---- transport ------------------------------------------------------------------

  async play() {
    if (this.playing) return;
    await this.ctx.resume();
    let from = this.anchor.position;
    if (from >= this.duration - 0.01) from = this.loop ? this.loop.a : 0;
    // Start only when every stem's first segment is decoded, so all start together.
    const n = Math.floor(from / this.seg);
    await Promise.all(this.stems.map((s) => this.load(s.name, n)));
    this.started.clear();
    this.playing = true;
    this.reanchor(from, this.ctx.currentTime + 0.05);
    this.tick();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  pause() {
    if (!this.playing) return;
    const at = this.position();
    this.playing = false;
    clearInterval(this.timer);
    this.reanchor(at, this.ctx.currentTime);
  }

  seek(position) {
    const target = Math.min(Math.max(0, position), this.duration);
    if (this.playing) {
      this.reanchor(target, this.ctx.currentTime + 0.03);
      this.tick();
    } else {
      this.anchor = { ...this.anchor, position: target };
    }
  }

  setTempo(tempo) {
    const at = this.position();
    this.tempo = Math.min(1, Math.max(0.5, tempo));
    this.route();
    if (this.playing) {
      this.reanchor(at, this.ctx.currentTime + 0.03);
      this.tick();
    } else this.anchor = { ...this.anchor, position: at };
  }

  setPitch(semitones) {
    this.semitones = Math.max(-12, Math.min(12, Math.round(semitones)));
    this.route();
  }

  setLoop(a, b) {
    const at = this.position();
    this.loop = a !== null && b !== null && b - a >= 0.05 ? { a, b } : null;
    if (this.playing) {
      this.reanchor(at, this.ctx.currentTime + 0.03);
      this.tick();
    } else this.anchor = { ...this.anchor, position: at };
  }

  // ---- segments --------------------------------------------------------------------

  /** The decoded segment (fetched once; at most MAX_FETCHES at a time). */
  load(stem, n) {
    const key = `${stem}:${n}`;
    let entry = this.buffers.get(key);
    if (!entry) {
      entry = { buffer: null, used: performance.now(), promise: null };
      entry.promise = new Promise((resolve, reject) => this.queue.push({ stem, n, resolve, reject }))
        .then((buffer) => (entry.buffer = buffer))
        .catch((error) => {
          this.buffers.delete(key);
          throw error;
        });
      this.buffers.set(key, entry);
      this.pump();
    }
    entry.used = performance.now();
    return entry.promise;
  }

  pump() {
    while (this.fetching < MAX_FETCHES && this.queue.length) {
      const job = this.queue.shift();
      this.fetching++;
      fetch(this.segmentUrl(job.stem, job.n))
        .then((r) => {
          if (!r.ok) throw new Error(`segment ${job.n} of ${job.stem}: HTTP ${r.status}`);
          return r.arrayBuffer();
        })
        .then((data) => this.ctx.decodeAudioData(data))
        .then(job.resolve, job.reject)
        .finally(() => {
          this.fetching--;
          this.pump();
        });
    }
  }

  /** Decoded segments kept: the ones the schedule still needs; the rest are dropped. */
  evict(needed) {
    for (const [key, entry] of this.buffers) if (!needed.has(key) && entry.buffer) this.buffers.delete(key);
  }

  tick() {
    if (!this.playing) return;
    const now = this.ctx.currentTime;
    const vNow = this.elapsed(now);
    const vEnd = vNow + LOOKAHEAD * this.tempo;
    const needed = new Set();
    for (const p of this.pieces()) {
      const len = p.to - p.from;
      if (p.v >= vEnd) break;
      if (p.v + len <= vNow) continue;
      // Positions of this piece inside the window.
      const from = p.from + Math.max(0, vNow - p.v);
      const to = Math.min(p.to, p.from + (vEnd - p.v));
      for (let n = Math.floor(from / this.seg); n * this.seg < to && n < this.segmentCount; n++) {
        for (const s of this.stems) {
          const key = `${s.name}:${n}`;
          needed.add(key);
          this.schedulePart(s, n, p, this.load(s.name, n));
        }
      }
    }
    this.evict(needed);
    if (!this.loop && this.position(now) >= this.duration) {
      this.playing = false;
      clearInterval(this.timer);
      this.reanchor(this.duration, now);
      this.onend();
    }
  }

  schedulePart(s, n, piece, loading) {
    const anchorId = this.anchor.id;
    const key = `${anchorId}:${piece.index}:${s.name}:${n}`;
    if (this.scheduled.has(key)) return;
    const entry = this.buffers.get(`${s.name}:${n}`);
    if (!entry?.buffer) {
      loading.then(() => this.playing && this.anchor.id === anchorId && this.tick(), () => undefined);
      return;
    }
    const segStart = n * this.seg;
    const partFrom = Math.max(piece.from, segStart);
    const partTo = Math.min(piece.to, segStart + this.seg, segStart + entry.buffer.duration);
    if (partTo <= partFrom) return;
    let when = this.anchor.ctxTime + (piece.v + (partFrom - piece.from)) / this.tempo;
    let offset = partFrom - segStart;
    let length = partTo - partFrom;
    const earliest = this.ctx.currentTime + 0.01;
    if (when < earliest) {
      // Late (a slow segment): join in at the right place rather than shift the stem.
      const skip = (earliest - when) * this.tempo;
      if (skip >= length) return;
      when = earliest;
      offset += skip;
      length -= skip;
    }
    const src = this.ctx.createBufferSource();
    src.buffer = entry.buffer;
    src.playbackRate.value = this.tempo;
    src.connect(s.gain);
    src.start(when, offset, length);
    this.started.add(s.name);
    src.onended = () => {
      if (this.scheduled.get(key) === src) {
        this.scheduled.delete(key);
        src.disconnect();
      }
    };
    this.scheduled.set(key, src);
  }

  /** For tests and the page: what is playing where. */
  snapshot() {
    const sources = [];
    for (const [key, src] of this.scheduled) {
      const [anchorId, piece, stem, n] = key.split(':');
      sources.push({ anchorId: Number(anchorId), piece: Number(piece), stem, segment: Number(n), rate: src.playbackRate.value });
    }
    const now = this.ctx.currentTime;
    return {
      ctxTime: now,
      playing: this.playing,
      position: this.position(now),
      tempo: this.tempo,
      semitones: this.semitones,
      loop: this.loop,
      started: [...this.started],
      decodedSegments: [...this.buffers.values()].filter((e) => e.buffer).length,
      sources,
      gains: Object.fromEntries(this.stems.map((s) => [s.name, this.effectiveGain(s)])),
    };
  }
}
