// The stem player page: reads data.json of its link, draws the lanes from the
// server's peaks, and drives the engine (engine.js). Everything it loads comes
// from this server (the page's Content-Security-Policy allows nothing else).
// Text from the track (title, artist) is only ever set with textContent.
import { StemEngine } from './engine.js';
import { SoundTouchNode } from './soundtouch/SoundTouchNode.js';

const $ = (id) => document.getElementById(id);
const setId = location.pathname.split('/').filter(Boolean).pop();
const auth = location.search; // ?exp=..&sig=.. : every request of this link carries it
const api = (rest, extra = '') => `${encodeURIComponent(setId)}/${rest}${auth}${extra}`;

const fmt = (s) => {
  const t = Math.max(0, Math.floor(s));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
};

function status(text) {
  $('status').textContent = text;
}

function fact(dl, term, value) {
  if (value === null || value === undefined || value === '') return;
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = String(value);
  div.append(dt, dd);
  dl.append(div);
}

function drawLane(canvas, peaks, colour, played) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, w, h);
  const buckets = peaks.length / 2;
  const mid = h / 2;
  for (let x = 0; x < w; x++) {
    const b = Math.floor((x / w) * buckets);
    const min = peaks[2 * b] ?? 0;
    const max = peaks[2 * b + 1] ?? 0;
    g.fillStyle = x / w <= played ? colour : `${colour}80`;
    g.fillRect(x, mid - max * mid, 1, Math.max(1, (max - min) * mid));
  }
  g.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('--text') || '#fff';
  g.fillRect(Math.round(played * w), 0, Math.max(1, Math.round(ratio)), h);
}

async function main() {
  const response = await fetch(api('data.json'));
  if (!response.ok) {
    $('title').textContent = response.status === 403 ? 'This player link is not valid or has expired.' : 'The stems could not be loaded.';
    status(await response.text());
    return;
  }
  const data = await response.json();
  const { track, analysis } = data;
  document.title = `${track.title} · Stem player`;
  $('title').textContent = track.title;
  $('artist').textContent = [track.artist, track.album].filter(Boolean).join(' · ');
  if (track.art) {
    // Served by us (fetched once from Spotify's image CDN); shown only once it loads, else no cover.
    const art = $('art');
    art.addEventListener('load', () => { art.hidden = false; }, { once: true });
    art.addEventListener('error', () => { art.hidden = true; }, { once: true });
    art.alt = `Cover of ${track.title}`;
    art.src = api('art');
  }
  const facts = $('facts');
  fact(facts, 'Duration', fmt(data.durationSeconds));
  if (analysis) {
    fact(facts, 'BPM', analysis.bpm ? Math.round(analysis.bpm * 10) / 10 : null);
    fact(facts, 'Key', analysis.key);
    fact(facts, 'Camelot', analysis.camelot);
  }
  fact(facts, 'Model', data.model);
  $('expiry').textContent = `This link works until ${new Date(data.expiresAt).toLocaleString()}.`;

  const ctx = new AudioContext({ sampleRate: data.sampleRate, latencyHint: 'playback' });
  let Stretch = null;
  try {
    await SoundTouchNode.register(ctx, new URL('./soundtouch/soundtouch-processor.js', import.meta.url).href);
    Stretch = SoundTouchNode;
  } catch (error) {
    status(`Tempo and pitch are not available in this browser (${error.message}).`);
  }
  const engine = new StemEngine({
    ctx,
    stems: data.stems.map((s) => s.name),
    duration: data.durationSeconds,
    segmentSeconds: data.segmentSeconds,
    segmentUrl: (stem, n) => api(`segment/${stem}/${n}.flac`),
    SoundTouchNode: Stretch,
  });

  // ---- lanes -------------------------------------------------------------
  const lanes = data.stems.map((s, i) => {
    const section = document.createElement('section');
    section.className = 'lane';
    section.style.setProperty('--stem', s.colour);
    section.setAttribute('aria-label', `${s.name} stem`);
    section.dataset.stem = s.name;
    const head = document.createElement('div');
    head.className = 'lane-head';
    const h2 = document.createElement('h2');
    h2.textContent = `${s.name}`;
    const solo = document.createElement('button');
    solo.type = 'button';
    solo.textContent = 'Solo';
    solo.setAttribute('aria-pressed', 'false');
    solo.setAttribute('aria-label', `Solo ${s.name}`);
    solo.setAttribute('aria-keyshortcuts', String(i + 1));
    const mute = document.createElement('button');
    mute.type = 'button';
    mute.textContent = 'Mute';
    mute.setAttribute('aria-pressed', 'false');
    mute.setAttribute('aria-label', `Mute ${s.name}`);
    mute.setAttribute('aria-keyshortcuts', `Shift+${i + 1}`);
    const volLabel = document.createElement('label');
    volLabel.className = 'vol';
    const vol = document.createElement('input');
    vol.type = 'range';
    vol.min = '0';
    vol.max = '200';
    vol.step = '1';
    vol.value = '100';
    vol.setAttribute('aria-valuetext', '100 %');
    volLabel.append(`Volume ${s.name}`, vol);
    head.append(h2, solo, mute, volLabel);
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'slider');
    canvas.tabIndex = 0;
    canvas.setAttribute('aria-label', `${s.name} waveform: click to seek`);
    canvas.setAttribute('aria-valuemin', '0');
    canvas.setAttribute('aria-valuemax', String(Math.round(data.durationSeconds)));
    section.append(head, canvas);
    $('lanes').append(section);
    const lane = { ...s, section, solo, mute, vol, canvas };
    solo.addEventListener('click', () => toggleSolo(lane));
    mute.addEventListener('click', () => toggleMute(lane));
    vol.addEventListener('input', () => {
      engine.setVolume(s.name, Number(vol.value) / 100);
      vol.setAttribute('aria-valuetext', `${vol.value} %`);
    });
    canvas.addEventListener('click', (event) => {
      const rect = canvas.getBoundingClientRect();
      engine.seek(((event.clientX - rect.left) / rect.width) * data.durationSeconds);
      render();
    });
    canvas.addEventListener('keydown', (event) => {
      if (event.key === 'Home') engine.seek(0);
      else if (event.key === 'End') engine.seek(data.durationSeconds - 0.1);
      else return;
      event.preventDefault();
      render();
    });
    return lane;
  });

  const refreshLanes = () => {
    for (const lane of lanes) {
      const st = engine.stem(lane.name);
      lane.solo.setAttribute('aria-pressed', String(st.solo));
      lane.mute.setAttribute('aria-pressed', String(st.muted));
      lane.section.classList.toggle('silent', engine.effectiveGain(st) === 0);
    }
  };
  function toggleSolo(lane) {
    engine.setSolo(lane.name, !engine.stem(lane.name).solo);
    refreshLanes();
  }
  function toggleMute(lane) {
    engine.setMuted(lane.name, !engine.stem(lane.name).muted);
    refreshLanes();
  }

  // ---- transport ------------------------------------------------------------
  const play = $('play');
  const setPlayLabel = () => {
    play.textContent = engine.playing ? 'Pause' : 'Play';
    play.setAttribute('aria-label', engine.playing ? 'Pause' : 'Play');
  };
  const togglePlay = async () => {
    if (engine.playing) engine.pause();
    else {
      status('Loading…');
      await engine.play();
      status('');
    }
    setPlayLabel();
  };
  play.addEventListener('click', () => void togglePlay());
  engine.onend = setPlayLabel;
  play.disabled = false;

  const tempo = $('tempo');
  tempo.addEventListener('input', () => {
    engine.setTempo(Number(tempo.value) / 100);
    $('tempo-out').textContent = `${tempo.value} %`;
    tempo.setAttribute('aria-valuetext', `${tempo.value} %`);
  });
  if (!Stretch) tempo.disabled = $('pitch').disabled = true;
  $('pitch').addEventListener('change', () => engine.setPitch(Number($('pitch').value) || 0));

  let loopA = null;
  let loopB = null;
  const showLoop = () => {
    $('loop-out').textContent = engine.loop ? `Loop ${fmt(engine.loop.a)}–${fmt(engine.loop.b)}` : loopA !== null ? `A at ${fmt(loopA)}` : 'No loop';
  };
  const setA = () => {
    loopA = engine.position();
    if (loopB !== null && loopB <= loopA) loopB = null;
    engine.setLoop(loopA, loopB);
    showLoop();
  };
  const setB = () => {
    const at = engine.position();
    if (loopA === null || at <= loopA) return status('Set A before B, and B after A.');
    loopB = at;
    engine.setLoop(loopA, loopB);
    showLoop();
  };
  const clearLoop = () => {
    loopA = loopB = null;
    engine.setLoop(null, null);
    showLoop();
  };
  $('loop-a').addEventListener('click', setA);
  $('loop-b').addEventListener('click', setB);
  $('loop-clear').addEventListener('click', clearLoop);

  document.addEventListener('keydown', (event) => {
    const target = event.target;
    const typing = target instanceof HTMLInputElement && target.type === 'number';
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const digit = /^Digit([1-9])$/.exec(event.code);
    if (event.code === 'Space' && !(target instanceof HTMLButtonElement) && !(target instanceof HTMLSelectElement)) {
      void togglePlay();
    } else if (event.key === 'ArrowLeft' && !(target instanceof HTMLInputElement)) {
      engine.seek(engine.position() - 5);
    } else if (event.key === 'ArrowRight' && !(target instanceof HTMLInputElement)) {
      engine.seek(engine.position() + 5);
    } else if (digit && lanes[Number(digit[1]) - 1]) {
      const lane = lanes[Number(digit[1]) - 1];
      if (event.shiftKey) toggleMute(lane);
      else toggleSolo(lane);
    } else if (event.key === 'a' || event.key === 'A') setA();
    else if (event.key === 'b' || event.key === 'B') setB();
    else if (event.key === 'l' || event.key === 'L') clearLoop();
    else return;
    event.preventDefault();
    render();
  });

  // ---- downloads ------------------------------------------------------------
  const download = (href) => {
    const a = document.createElement('a');
    a.href = href;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
  };
  /** The mix query of the current volumes and mutes (solo counts as muting the others). */
  const mixQuery = () => engine.stems.map((s) => `${s.name}:${Math.round(engine.effectiveGain(s) * 1000) / 1000}`).join(',');
  $('zip-form').addEventListener('submit', (event) => {
    event.preventDefault();
    download(api('zip', `&format=${$('zip-format').value}`));
  });
  $('mix-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (engine.stems.every((s) => engine.effectiveGain(s) === 0)) return status('Every stem is muted: nothing to mix.');
    status('Rendering the mix on the server…');
    download(api('mix', `&format=${$('mix-format').value}&v=${encodeURIComponent(mixQuery())}`));
  });

  // ---- drawing --------------------------------------------------------------
  function render() {
    const at = engine.position();
    $('time').textContent = `${fmt(at)} / ${fmt(data.durationSeconds)}`;
    for (const lane of lanes) {
      drawLane(lane.canvas, lane.peaks, lane.colour, at / data.durationSeconds);
      lane.canvas.setAttribute('aria-valuenow', String(Math.round(at)));
      lane.canvas.setAttribute('aria-valuetext', fmt(at));
    }
  }
  const frame = () => {
    render();
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  window.addEventListener('resize', render);
  render();
  $('app').setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';

  // For the browser tests and the curious: the engine and what it plays.
  window.sfaPlayer = { engine, ctx, data, mixQuery, render };
}

main().catch((error) => {
  status(`The player failed: ${error.message}`);
  document.body.dataset.ready = 'error';
});
