// Posture: device inventory, device groups and compliance policies; compliance follows device risk.
export { createPosture, judgeCompliance, AUTOMATION_LEVELS, MAX_RISKS, DEFAULT_GROUP_ID, DEFAULT_POLICY_ID } from './posture.js';
export type {
  Posture, PostureOptions, Device, DeviceDetail, DeviceGroup, CompliancePolicy, ComplianceTransition, UpsertDeviceInput,
  AutomationLevel, MaxRisk,
} from './posture.js';
