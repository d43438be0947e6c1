import { Counter, type Registry } from 'prom-client';

/** The pipeline's counters and its last error, shared by its parts. */
export interface PipelineMetrics {
  findings: Counter<'type' | 'kind'>;
  suppressed: Counter<'type'>;
  errors: Counter<'stage'>;
  rechecks: Counter<'type' | 'result'>;
}

export interface PipelineStats {
  processed: number;
  inferred: number;
  skipped: number;
  dropped: number;
  findings: number;
  lastError: string | null;
}

export function createPipelineMetrics(reg: Registry): PipelineMetrics {
  return {
    findings: new Counter({
      name: 'gridwatch_detector_findings_total',
      help: 'Findings submitted (first and refresh)',
      labelNames: ['type', 'kind'],
      registers: [reg],
    }),
    suppressed: new Counter({
      name: 'gridwatch_detector_emissions_suppressed_total',
      help: 'Rule emissions dropped by an operator suppression',
      labelNames: ['type'],
      registers: [reg],
    }),
    errors: new Counter({
      name: 'gridwatch_detector_pipeline_errors_total',
      help: 'Frames or findings that failed in the pipeline',
      labelNames: ['stage'],
      registers: [reg],
    }),
    rechecks: new Counter({
      name: 'gridwatch_detector_raise_rechecks_total',
      help: 'Re-checks (二次识别) before raising a new alert, by result (present, absent)',
      labelNames: ['type', 'result'],
      registers: [reg],
    }),
  };
}
