import type { Offer } from './offer';

export interface PageView {
  readonly url: string;
  readonly timeOnPageSeconds: number;
  readonly pagesViewed: number;
  readonly returningVisitor: boolean;
  /** What the site knows of the visitor (plan, cart value...). */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

export interface TargetingRule {
  readonly ruleId: string;
  /** A URL with `*` wildcards, e.g. `https://shop.example/checkout*`. */
  readonly urlPattern: string;
  readonly minTimeOnPageSeconds?: number;
  readonly minPagesViewed?: number;
  /** If set, only returning (true) or only new (false) visitors. */
  readonly returningVisitor?: boolean;
  /** Every one must equal the visitor's attribute. */
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  /** What the invitation says. */
  readonly message: string;
}

function urlMatches(pattern: string, url: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(url);
}

export function ruleMatches(rule: TargetingRule, view: PageView): boolean {
  return (
    urlMatches(rule.urlPattern, view.url) &&
    view.timeOnPageSeconds >= (rule.minTimeOnPageSeconds ?? 0) &&
    view.pagesViewed >= (rule.minPagesViewed ?? 0) &&
    (rule.returningVisitor === undefined || rule.returningVisitor === view.returningVisitor) &&
    Object.entries(rule.attributes ?? {}).every(([k, v]) => view.attributes[k] === v)
  );
}

/**
 * The invitation to show, if any: the first matching rule, only when live chat
 * can be taken now, and at most once per visitor per period.
 */
export function invitationFor(
  rules: readonly TargetingRule[],
  view: PageView,
  offer: Offer,
  lastShownAt: string | null,
  periodSeconds: number,
  at: string,
): TargetingRule | null {
  if (offer.kind !== 'live-chat') return null;
  if (lastShownAt !== null && Date.parse(at) - Date.parse(lastShownAt) < periodSeconds * 1000) return null;
  return rules.find((r) => ruleMatches(r, view)) ?? null;
}
