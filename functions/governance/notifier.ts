/**
 * Operator notifications for holds and escalations. Awaited before the handler
 * resolves: on Node 24 Lambda drops promises still pending after the response.
 */
export interface GovernanceNotice {
  kind: 'hold' | 'escalation';
  proxyId: string;
  keyId: string;
  traceId: string;
  approvalId?: string;
  reasons: string[];
  at: string;
}

export interface Notifier {
  notify(notice: GovernanceNotice): Promise<void>;
}

/** POSTs the notice as JSON to a webhook (local runtime). */
export function webhookNotifier(url: string, fetchImpl: typeof fetch = fetch, timeoutMs = 5000): Notifier {
  return {
    async notify(notice) {
      const res = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notice),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    },
  };
}

/** Publishes the notice to an SNS topic (AWS); the client is loaded on first use. */
export function snsNotifier(topicArn: string): Notifier {
  let client: Promise<{ send(notice: GovernanceNotice): Promise<void> }> | undefined;
  const load = async () => {
    const { SNSClient, PublishCommand } = await import('@aws-sdk/client-sns');
    const sns = new SNSClient({});
    return {
      async send(notice: GovernanceNotice) {
        await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: `Sluice ${notice.kind} on ${notice.proxyId}`.slice(0, 100), Message: JSON.stringify(notice) }));
      },
    };
  };
  return {
    async notify(notice) {
      client ??= load();
      await (await client).send(notice);
    },
  };
}
