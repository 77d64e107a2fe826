import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ChannelAccounts } from '../config/ingress.config';
import type { ChannelConnector, OutboundReply } from './channel.connector';
import { DeliveryFailedError, postJson, type RetryPolicy } from './graph.client';

/**
 * Apple's Messages for Business gateway, `POST {gateway}/message`, as a
 * messaging service provider sends: headers `id` (a new message id),
 * `source-id` (the business), `destination-id` (the customer's opaque id) and
 * `authorization: Bearer <JWT>` (HS256 with the shared secret, audience our MSP
 * id); body `{ v: 1, type: "text", id, sourceId, destinationId, body }`.
 */
export class AppleConnector implements ChannelConnector {
  readonly channel = 'apple' as const;

  constructor(
    private readonly accounts: ChannelAccounts['apple'],
    private readonly gatewayUrl: string,
    private readonly policy: RetryPolicy,
  ) {}

  accountOf(tenantId: string): string | undefined {
    return this.accounts.find((a) => a.tenantId === tenantId)?.businessId;
  }

  async send(reply: OutboundReply): Promise<{ channelMessageId: string }> {
    const account = this.accounts.find((a) => a.tenantId === reply.tenantId);
    if (!account) throw new DeliveryFailedError('apple', 0, 'no Apple business configured for the tenant', 0);
    const id = randomUUID();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(account.mspId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(Buffer.from(account.secret, 'base64'));
    const attachment = reply.attachments[0];
    const body = {
      v: 1,
      type: 'text',
      id,
      sourceId: account.businessId,
      destinationId: reply.recipient.id,
      body: reply.text ?? (attachment ? attachment.ref : ''),
      ...(attachment
        ? { attachments: reply.attachments.map((a) => ({ url: a.ref, mimeType: a.mimeType, size: a.sizeBytes, name: a.name ?? 'attachment' })) }
        : {}),
    };
    await postJson<unknown>('apple', `${this.gatewayUrl}/message`, token, body, this.policy, {
      id,
      'source-id': account.businessId,
      'destination-id': reply.recipient.id,
    });
    return { channelMessageId: id };
  }
}
