export { createSequencer, type Sequencer, type SequencerLogger, type SequencerOptions, type TickResult } from './sequencer.js';
