import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { Posture } from '../../posture/index.js';
import { requireRole } from '../auth.js';

type Audit = (entry: { actor: string; action: string; target: string; details?: Record<string, unknown> }) => Promise<void>;
const body = (request: FastifyRequest) => {
  const b = request.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new VigilError('bad_request', 400, 'the body must be a JSON object');
  return b as Record<string, any>;
};

/** Devices (read: reader; change: admin), device groups and compliance policies (admin), every change audited. */
export function registerPostureRoutes(app: FastifyInstance, deps: { posture: Posture; audit?: Audit }) {
  const { posture } = deps;
  const audit = async (request: FastifyRequest, action: string, target: string, details?: Record<string, unknown>) =>
    deps.audit?.({ actor: request.principal!.name, action, target, ...(details ? { details } : {}) });

  app.get('/api/v1/devices', { preHandler: requireRole('reader') }, async () => ({ devices: await posture.listDevices() }));
  app.get<{ Params: { id: string } }>('/api/v1/devices/:id', { preHandler: requireRole('reader') }, async (request) => {
    const device = await posture.getDevice(request.params.id);
    if (!device) throw new VigilError('not_found', 404, `device '${request.params.id}' not found`);
    return device;
  });
  app.put<{ Params: { id: string } }>('/api/v1/devices/:id', { preHandler: requireRole('admin') }, async (request) => {
    const b = body(request);
    const device = await posture.upsertDevice({
      id: request.params.id, hostname: b.hostname, os: b.os, osVersion: b.osVersion, primaryUser: b.primaryUser, groupId: b.groupId,
      ...(b.publicKeyJwk !== undefined ? { publicKeyJwk: b.publicKeyJwk } : {}),
    });
    await audit(request, 'device.upsert', device.id, { groupId: device.groupId, primaryUser: device.primaryUser });
    return posture.getDevice(device.id);
  });

  app.get('/api/v1/device-groups', { preHandler: requireRole('reader') }, async () => ({ deviceGroups: await posture.listGroups() }));
  app.post('/api/v1/device-groups', { preHandler: requireRole('admin') }, async (request, reply) => {
    const b = body(request);
    const group = await posture.createGroup({ name: b.name, automationLevel: b.automationLevel, compliancePolicyId: b.compliancePolicyId });
    await audit(request, 'device-group.create', group.id, { ...group });
    return reply.status(201).send(group);
  });
  app.get<{ Params: { id: string } }>('/api/v1/device-groups/:id', { preHandler: requireRole('reader') }, async (request) => {
    const group = await posture.getGroup(request.params.id);
    if (!group) throw new VigilError('not_found', 404, `device group '${request.params.id}' not found`);
    return group;
  });
  app.patch<{ Params: { id: string } }>('/api/v1/device-groups/:id', { preHandler: requireRole('admin') }, async (request) => {
    const b = body(request);
    const group = await posture.updateGroup(request.params.id, { name: b.name, automationLevel: b.automationLevel, compliancePolicyId: b.compliancePolicyId });
    await audit(request, 'device-group.update', group.id, { ...group });
    return group;
  });
  app.delete<{ Params: { id: string } }>('/api/v1/device-groups/:id', { preHandler: requireRole('admin') }, async (request, reply) => {
    await posture.deleteGroup(request.params.id);
    await audit(request, 'device-group.delete', request.params.id);
    return reply.status(204).send();
  });

  app.get('/api/v1/compliance-policies', { preHandler: requireRole('reader') }, async () => ({ compliancePolicies: await posture.listPolicies() }));
  app.post('/api/v1/compliance-policies', { preHandler: requireRole('admin') }, async (request, reply) => {
    const b = body(request);
    const policy = await posture.createPolicy({ name: b.name, maxRisk: b.maxRisk, maxSensorSilenceSeconds: b.maxSensorSilenceSeconds ?? null });
    await audit(request, 'compliance-policy.create', policy.id, { ...policy });
    return reply.status(201).send(policy);
  });
  app.get<{ Params: { id: string } }>('/api/v1/compliance-policies/:id', { preHandler: requireRole('reader') }, async (request) => {
    const policy = await posture.getPolicy(request.params.id);
    if (!policy) throw new VigilError('not_found', 404, `compliance policy '${request.params.id}' not found`);
    return policy;
  });
  app.patch<{ Params: { id: string } }>('/api/v1/compliance-policies/:id', { preHandler: requireRole('admin') }, async (request) => {
    const b = body(request);
    const policy = await posture.updatePolicy(request.params.id, { name: b.name, maxRisk: b.maxRisk, maxSensorSilenceSeconds: b.maxSensorSilenceSeconds });
    await audit(request, 'compliance-policy.update', policy.id, { ...policy });
    return policy;
  });
  app.delete<{ Params: { id: string } }>('/api/v1/compliance-policies/:id', { preHandler: requireRole('admin') }, async (request, reply) => {
    await posture.deletePolicy(request.params.id);
    await audit(request, 'compliance-policy.delete', request.params.id);
    return reply.status(204).send();
  });
}
