import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { signMetaBody } from '../webhooks/meta.signature';

export const APP_SECRET = 'meta-app-secret-for-tests';
export const VERIFY_TOKEN = 'verify-token-for-tests';
export const APPLE_SECRET = randomBytes(32).toString('base64');
export const MASTER = randomBytes(32).toString('base64');

export const CHANNELS = {
  meta: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, appId: '1234' },
  whatsapp: [{ phoneNumberId: 'pn-brand-a', tenantId: 'brand-a', accessToken: 'wa-token-a' }],
  messenger: [{ pageId: 'page-brand-a', tenantId: 'brand-a', accessToken: 'page-token-a' }],
  apple: [{ businessId: 'biz-brand-a', tenantId: 'brand-a', mspId: 'msp-parley', secret: APPLE_SECRET }],
};

export interface StoreBackend {
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

export function sqliteStore(): StoreBackend {
  const dir = mkdtempSync(join(tmpdir(), 'parley-ingress-'));
  return {
    env: { PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: join(dir, 'events.db'), PARLEY_MASTER_KEY: MASTER },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function ferretStore(): StoreBackend {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_ingress').replace(/-/g, '_');
  return {
    env: { PARLEY_STORE: 'mongo', PARLEY_MONGO_URL: mongoUrl, PARLEY_MONGO_DATABASE: database, PARLEY_MASTER_KEY: MASTER },
    cleanup: async () => {
      const client = await MongoClient.connect(mongoUrl);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
}

/** Posts a webhook as Meta does: the raw JSON signed with the app secret. */
export async function postMeta(
  port: number,
  channel: 'whatsapp' | 'messenger',
  body: unknown,
  options: { secret?: string; signature?: string | null } = {},
): Promise<{ status: number; body: string }> {
  const raw = Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
  const signature = options.signature === undefined ? signMetaBody(raw, options.secret ?? APP_SECRET) : options.signature;
  const response = await fetch(`http://127.0.0.1:${port}/webhooks/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) },
    body: raw,
  });
  return { status: response.status, body: await response.text() };
}

export const unix = (ms = Date.now()) => String(Math.floor(ms / 1000));

/** A Cloud API webhook body with one change for our test number. */
function whatsappChange(value: Record<string, unknown>, phoneNumberId = 'pn-brand-a') {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'waba-1',
        changes: [
          {
            field: 'messages',
            value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: phoneNumberId }, ...value },
          },
        ],
      },
    ],
  };
}

export function whatsappMessage(opts: {
  userId: string;
  waId?: string;
  wamid: string;
  text?: string;
  image?: { id: string; caption?: string };
  phoneNumberId?: string;
  at?: number;
}) {
  return whatsappChange(
    {
      contacts: [{ profile: { name: 'Customer' }, user_id: opts.userId, ...(opts.waId ? { wa_id: opts.waId } : {}) }],
      messages: [
        {
          ...(opts.waId ? { from: opts.waId } : {}),
          from_user_id: opts.userId,
          id: opts.wamid,
          timestamp: unix(opts.at),
          ...(opts.image
            ? { type: 'image', image: { id: opts.image.id, mime_type: 'image/jpeg', ...(opts.image.caption ? { caption: opts.image.caption } : {}) } }
            : { type: 'text', text: { body: opts.text ?? '' } }),
        },
      ],
    },
    opts.phoneNumberId,
  );
}

/** A status as Meta documents it; `messageId` is our callback data, which Meta echoes only when we set it. */
export function whatsappStatus(opts: { userId?: string; waId?: string; wamid: string; status: string; messageId?: string; errorCode?: number }) {
  return whatsappChange({
    statuses: [
      {
        id: opts.wamid,
        status: opts.status,
        timestamp: unix(),
        recipient_id: opts.waId,
        ...(opts.userId ? { recipient_user_id: opts.userId } : {}),
        ...(opts.messageId ? { biz_opaque_callback_data: opts.messageId } : {}),
        conversation: { id: 'CONVERSATION_ID', expiration_timestamp: unix(), origin: { type: 'service' } },
        pricing: { billable: false, pricing_model: 'PMP', category: 'service', type: 'free_customer_service' },
        ...(opts.errorCode ? { errors: [{ code: opts.errorCode, title: 'Re-engagement message' }] } : {}),
      },
    ],
  });
}
