/**
 * requestAnalysis: download + analysis only (`sfa analyze`, the bot's
 * /analyze). The same transaction as requestSeparation (requestWork) without
 * a processing row: reuses a finished analysis or one in progress, and the
 * track's download.
 */
import { parsePipelineInput } from './input.ts';
import { requestWork, type PipelineContext } from './requestSeparation.ts';

export interface AnalysisRequest {
  /** Spotify track link/URI, direct http(s) audio URL, or local file path. */
  input: string;
  /** Relative file paths resolve against this (default process.cwd()). */
  cwd?: string;
  /** The requester may fetch private-network addresses (the CLI user's own machine); never set by the bot. */
  allowPrivateHosts?: boolean;
}

export interface AnalysisTicket {
  trackId: string;
  downloadJobId: string;
  analysisJobId: string;
  /** Which rows already existed (ready or in progress) rather than being created by this request. */
  reused: { download: boolean; analysis: boolean };
}

/** Throws InputError for a bad link/path before writing anything; later problems end as failed rows. */
export async function requestAnalysis(ctx: PipelineContext, request: AnalysisRequest): Promise<AnalysisTicket> {
  const input = parsePipelineInput(request.input, request.cwd);
  const rows = await requestWork(ctx, input, { allowPrivateHosts: request.allowPrivateHosts });
  return {
    trackId: rows.trackId,
    downloadJobId: rows.download.id,
    analysisJobId: rows.analysis.id,
    reused: { download: rows.download.reused, analysis: rows.analysis.reused },
  };
}
