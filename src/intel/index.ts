// Threat intelligence: indicators (custom TI), live matching, the sensor feed, retro-hunts, STIX 2.1 and TAXII 2.1.
export { createIntelService } from './intel-service.js';
export type {
  IntelService, IntelOptions, GroupNames, FeedIndicator, FeedResponse, ImportReport, ImportRejection, StixImportReport, RemediationProposal,
  RetroHuntReport, IndicatorFilter, EntityToIndicator, TaxiiData, TaxiiCollectionInfo, TaxiiRecord, TaxiiQuery, TaxiiPage, TaxiiStatus,
} from './intel-service.js';
export {
  INDICATOR_TYPES, INDICATOR_ACTIONS, ACTIONS_BY_TYPE, ACTION_RANK, validateIndicator, normaliseValue,
} from './indicator-model.js';
export type { Indicator, IndicatorInput, IndicatorType, IndicatorAction, IndicatorState } from './indicator-model.js';
export type { Decision } from './row-matcher.js';
export { parsePattern, patternOf, indicatorToStix, stixToInput } from './stix.js';
export type { StixObject, StixBundle } from './stix.js';
export { createTaxiiClient, TAXII_MEDIA_TYPE, STIX_MEDIA_TYPE } from './taxii-client.js';
export type { TaxiiClient, TaxiiClientOptions, TaxiiPollResult } from './taxii-client.js';
