/** Demucs' file list, bag yaml and naming rule; how a model fetch is shown (pure). */
import { describe, expect, it } from 'vitest';
import { renderStageBars, plainProgressLines, type StageStates } from '../../src/domain/cliProgress.ts';
import { formatEta, plainDownloadLine, renderDownloadBar } from '../../src/domain/downloadProgress.ts';
import { renderRequestMessage } from '../../src/domain/messages.ts';
import { requireModel } from '../../src/domain/modelCatalog.ts';
import {
  bagSignatures,
  describeModelFetch,
  fetchPercent,
  formatMB,
  manualCopyHint,
  modelFiles,
  modelState,
  parseCheckpointName,
  parseFilesList,
} from '../../src/domain/modelFiles.ts';

const LIST = `# MDX Models
root: mdx_final/
e51eebcc-c1b80bdd.th
# Hybrid Transformer models
root: hybrid_transformer/
955717e8-8726e21a.th
f7e0c4bc-ba3fe64a.th
`;

describe("demucs' files.txt", () => {
  it('maps each signature to its path under the root, as demucs.pretrained._parse_remote_files does', () => {
    expect([...parseFilesList(LIST)]).toEqual([
      ['e51eebcc', 'mdx_final/e51eebcc-c1b80bdd.th'],
      ['955717e8', 'hybrid_transformer/955717e8-8726e21a.th'],
      ['f7e0c4bc', 'hybrid_transformer/f7e0c4bc-ba3fe64a.th'],
    ]);
  });

  it('refuses names that are not checkpoints, paths out of the root and repeated signatures', () => {
    expect(() => parseFilesList('../etc/passwd')).toThrow(/not a checkpoint name/);
    expect(() => parseFilesList('root: ../up/\n955717e8-8726e21a.th')).toThrow(/bad root line/);
    expect(() => parseFilesList('a/955717e8-8726e21a.th')).toThrow(/not a checkpoint name/);
    expect(() => parseFilesList('955717e8-8726e21a.th\n955717e8-00000000.th')).toThrow(/listed twice/);
  });

  it('reads the checksum prefix from a name; a bare <sig>.th has none', () => {
    expect(parseCheckpointName('955717e8-8726e21a.th')).toEqual({ sig: '955717e8', checksum: '8726e21a' });
    expect(parseCheckpointName('955717e8.th')).toEqual({ sig: '955717e8' });
    expect(parseCheckpointName('955717e8-8726e21a.th.part')).toBeUndefined();
  });
});

describe('modelFiles', () => {
  it('joins the base URL, the root and the name for each member of the bag', () => {
    const files = modelFiles(requireModel('htdemucs'), parseFilesList(LIST), "models: ['955717e8']\n", 'https://dl.fbaipublicfiles.com/demucs/');
    expect(files.checkpoints).toEqual([
      { sig: '955717e8', name: '955717e8-8726e21a.th', checksum: '8726e21a', url: 'https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th' },
    ]);
    expect(files.yaml).toEqual({ name: 'htdemucs.yaml', text: "models: ['955717e8']\n" });
  });

  it('says when the yaml, the list and the catalog disagree', () => {
    expect(() => modelFiles(requireModel('htdemucs'), parseFilesList(LIST), "models: ['f7e0c4bc']", 'http://m')).toThrow(/htdemucs.yaml lists f7e0c4bc, the catalog says 955717e8/);
    expect(() => modelFiles(requireModel('htdemucs_6s'), parseFilesList(LIST), "models: ['5c90dfd2']", 'http://m')).toThrow(/no checkpoint for 5c90dfd2/);
    expect(bagSignatures("models: ['f7e0c4bc', 'd12395a8']\nweights: [[1., 0.]]")).toEqual(['f7e0c4bc', 'd12395a8']);
  });

  it('names every file to copy by hand, with its URL and destination', () => {
    const files = modelFiles(requireModel('htdemucs'), parseFilesList(LIST), "models: ['955717e8']", 'http://mirror/');
    expect(manualCopyHint(files, '/srv/models')).toContain('  http://mirror/hybrid_transformer/955717e8-8726e21a.th  ->  /srv/models/955717e8-8726e21a.th');
  });
});

describe('state and progress', () => {
  it('installed, unverified or downloadable', () => {
    expect(modelState([{ present: true, verified: true }])).toBe('installed');
    expect(modelState([{ present: true, verified: true }, { present: true, verified: false }])).toBe('unverified');
    expect(modelState([{ present: true, verified: false }, { present: false, verified: false }])).toBe('downloadable');
  });

  it('"fetching model htdemucs (84 MB) 40 %", never 100 % before the last byte', () => {
    expect(describeModelFetch({ model: 'htdemucs', totalBytes: 84_000_000, doneBytes: 33_600_000 })).toBe('fetching model htdemucs (84 MB) 40 %');
    expect(fetchPercent({ totalBytes: 1000, doneBytes: 999 })).toBe(99);
    expect(fetchPercent({ totalBytes: 0, doneBytes: 0 })).toBe(0);
    expect([formatMB(84_141_911), formatMB(1_234_567), formatMB(620_000)]).toEqual(['84 MB', '1.2 MB', '0.62 MB']);
  });

  it('the Discord separation line and the CLI bar show the fetch while it runs', () => {
    const fetch = { model: 'htdemucs', totalBytes: 84_000_000, doneBytes: 33_600_000 };
    const message = renderRequestMessage({
      requesterId: '1',
      track: { title: 'Song' },
      model: 'htdemucs',
      stages: { download: { status: 'completed', progress: 100 }, separation: { status: 'processing', progress: 0, fetch } },
      reactions: 'none',
    });
    expect(message.embeds?.[0]?.description).toContain('**Separate** · htdemucs — fetching model htdemucs (84 MB) 40 %');
    const stages: StageStates = { separate: { status: 'processing', progress: 0, fetch } };
    expect(renderStageBars(stages, { barWidth: 10 })).toEqual(['separate [####......]  40% fetching model htdemucs (84 MB) 40 %']);
    const first = plainProgressLines({}, stages);
    expect(first.lines).toEqual(['separate: fetching model htdemucs (84 MB) 40 %']);
    // Fetched: the separation's own progress starts over and is printed.
    expect(plainProgressLines(first.memory, { separate: { status: 'processing', progress: 10, fetch: null } }).lines).toEqual(['separate: processing 10%']);
  });

  it('the download bar: bytes, rate and time left; plain lines per 10 %', () => {
    expect(renderDownloadBar({ model: 'htdemucs', doneBytes: 42_000_000, totalBytes: 84_000_000 }, 2_000_000, undefined, 10)).toBe(
      'htdemucs  [#####.....]  50%  42 MB of 84 MB  2.0 MB/s  ETA 0:21',
    );
    expect(renderDownloadBar({ model: 'htdemucs', doneBytes: 0, totalBytes: 84_000_000, waiting: true }, 0, undefined, 10)).toContain('(another process is downloading it)');
    expect(formatEta(3725)).toBe('1:02:05');
    const start = plainDownloadLine(undefined, { model: 'htdemucs', doneBytes: 0, totalBytes: 84_000_000 });
    expect(start.line).toBe('htdemucs: downloading, 0 % of 84 MB');
    expect(plainDownloadLine(start.decile, { model: 'htdemucs', doneBytes: 5_000_000, totalBytes: 84_000_000 }).line).toBeUndefined();
    expect(plainDownloadLine(start.decile, { model: 'htdemucs', doneBytes: 9_000_000, totalBytes: 84_000_000 }).line).toBe('htdemucs: downloading, 10 % of 84 MB');
  });
});
