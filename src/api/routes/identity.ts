import type { FastifyInstance, FastifyRequest } from 'fastify';
import { VigilError } from '../../errors/index.js';
import type { Access, Accounts } from '../../identity/index.js';
import { requireRole } from '../auth.js';

type Audit = (entry: { actor: string; action: string; target: string; details?: Record<string, unknown> }) => Promise<void>;
const body = (request: FastifyRequest) => {
  const b = request.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new VigilError('bad_request', 400, 'the body must be a JSON object');
  return b as Record<string, any>;
};

/** Users' risk, groups, apps and Conditional Access policies (admin CRUD, every change audited). */
export function registerIdentityRoutes(app: FastifyInstance, deps: { access: Access; accounts: Accounts; audit?: Audit }) {
  const { access, accounts } = deps;
  const { directory, policies } = access;
  const audit = async (request: FastifyRequest, action: string, target: string, details?: Record<string, unknown>) =>
    deps.audit?.({ actor: request.principal!.name, action, target, ...(details ? { details } : {}) });

  app.get<{ Params: { id: string } }>('/api/v1/users/:id', { preHandler: requireRole('reader') }, async (request) => {
    const user = (await accounts.getUser(request.params.id)) ?? (await accounts.findUserByName(request.params.id));
    if (!user) throw new VigilError('not_found', 404, `user '${request.params.id}' not found`);
    const risk = await directory.userRisk(user.username);
    const groups = await directory.groupsOf(user.username);
    return { ...user, riskLevel: risk.riskLevel, riskReason: risk.reason, riskUpdatedAt: risk.updatedAt, groups };
  });
  app.post<{ Params: { id: string } }>('/api/v1/users/:id/revoke-sessions', { preHandler: requireRole('responder') }, async (request, reply) => {
    const user = (await accounts.getUser(request.params.id)) ?? (await accounts.findUserByName(request.params.id));
    if (!user) throw new VigilError('not_found', 404, `user '${request.params.id}' not found`);
    await access.userActions.revokeSessions(user.username, `sessions revoked by ${request.principal!.name}`);
    await audit(request, 'user.revoke-sessions', user.id);
    return reply.status(204).send();
  });

  app.get('/api/v1/groups', { preHandler: requireRole('reader') }, async () => ({ groups: await directory.listGroups() }));
  app.post('/api/v1/groups', { preHandler: requireRole('admin') }, async (request, reply) => {
    const b = body(request);
    const group = await directory.createGroup({ name: b.name, members: b.members });
    await audit(request, 'group.create', group.id, { ...group });
    return reply.status(201).send(group);
  });
  app.get<{ Params: { id: string } }>('/api/v1/groups/:id', { preHandler: requireRole('reader') }, async (request) => {
    const group = await directory.getGroup(request.params.id);
    if (!group) throw new VigilError('not_found', 404, `group '${request.params.id}' not found`);
    return group;
  });
  app.patch<{ Params: { id: string } }>('/api/v1/groups/:id', { preHandler: requireRole('admin') }, async (request) => {
    const b = body(request);
    const group = await directory.updateGroup(request.params.id, { name: b.name, members: b.members });
    await audit(request, 'group.update', group.id, { ...group });
    return group;
  });
  app.delete<{ Params: { id: string } }>('/api/v1/groups/:id', { preHandler: requireRole('admin') }, async (request, reply) => {
    await directory.deleteGroup(request.params.id);
    await audit(request, 'group.delete', request.params.id);
    return reply.status(204).send();
  });

  app.get('/api/v1/apps', { preHandler: requireRole('reader') }, async () => ({ apps: await directory.listApps() }));
  app.post('/api/v1/apps', { preHandler: requireRole('admin') }, async (request, reply) => {
    const b = body(request);
    const created = await directory.createApp({ name: b.name, id: b.id, redirectUris: b.redirectUris, resource: b.resource, grantTypes: b.grantTypes, confidential: b.confidential });
    await audit(request, 'app.create', created.app.id, { ...created.app });
    // The client secret is shown once, here.
    return reply.status(201).send({ ...created.app, ...(created.clientSecret ? { clientSecret: created.clientSecret } : {}) });
  });
  app.get<{ Params: { id: string } }>('/api/v1/apps/:id', { preHandler: requireRole('reader') }, async (request) => {
    const found = await directory.getApp(request.params.id);
    if (!found) throw new VigilError('not_found', 404, `app '${request.params.id}' not found`);
    return found;
  });
  app.patch<{ Params: { id: string } }>('/api/v1/apps/:id', { preHandler: requireRole('admin') }, async (request) => {
    const b = body(request);
    const updated = await directory.updateApp(request.params.id, { name: b.name, redirectUris: b.redirectUris, resource: b.resource, grantTypes: b.grantTypes, confidential: b.confidential });
    await audit(request, 'app.update', updated.id, { ...updated });
    return updated;
  });
  app.delete<{ Params: { id: string } }>('/api/v1/apps/:id', { preHandler: requireRole('admin') }, async (request, reply) => {
    await directory.deleteApp(request.params.id);
    await audit(request, 'app.delete', request.params.id);
    return reply.status(204).send();
  });

  app.get('/api/v1/conditional-access/policies', { preHandler: requireRole('reader') }, async () => ({ policies: await policies.list() }));
  app.post('/api/v1/conditional-access/policies', { preHandler: requireRole('admin') }, async (request, reply) => {
    const policy = await policies.create(body(request));
    await audit(request, 'ca-policy.create', policy.id, { ...policy });
    return reply.status(201).send(policy);
  });
  app.get<{ Params: { id: string } }>('/api/v1/conditional-access/policies/:id', { preHandler: requireRole('reader') }, async (request) => {
    const policy = await policies.get(request.params.id);
    if (!policy) throw new VigilError('not_found', 404, `conditional access policy '${request.params.id}' not found`);
    return policy;
  });
  app.put<{ Params: { id: string } }>('/api/v1/conditional-access/policies/:id', { preHandler: requireRole('admin') }, async (request) => {
    const policy = await policies.replace(request.params.id, body(request));
    await audit(request, 'ca-policy.replace', policy.id, { ...policy });
    return policy;
  });
  app.delete<{ Params: { id: string } }>('/api/v1/conditional-access/policies/:id', { preHandler: requireRole('admin') }, async (request, reply) => {
    await policies.remove(request.params.id);
    await audit(request, 'ca-policy.delete', request.params.id);
    return reply.status(204).send();
  });
}
