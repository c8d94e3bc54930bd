// The contract test's smoke flow with openapi-typescript types and openapi-fetch: upsert, paging, read, feedback with
// ETag and If-Match, a typed 422 problem, a verified webhook ping. Environment: FH_BASE_URL, FH_KEY (roles admin,
// integration, recruiter; the tenant allows private webhook targets), FH_TEMPLATE_ID. Exit code 0 = passed.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`typescript smoke flow failed: ${what}`);
  console.log(`ok: ${what}`);
}

const client = createClient<paths>({ baseUrl: env("FH_BASE_URL"), headers: { Authorization: `Bearer ${env("FH_KEY")}` } });
const templateId = env("FH_TEMPLATE_ID");
const run = Math.random().toString(36).slice(2, 10);

async function upsert(externalId: string): Promise<Schemas["ApplicationResponse"]> {
  const body: Schemas["UpsertApplicationRequest"] = {
    candidate: { externalId: `${externalId}-c`, firstName: "Ada", email: "ada@example.test" },
    positionTitle: "Backend Engineer",
    status: "active",
  };
  const { data } = await client.PUT("/v1/applications/by-external-id/{externalId}", { params: { path: { externalId } }, body });
  if (!data) throw new Error("upsert failed");
  return data;
}

// 1. Upsert two applications.
const first = await upsert(`ts-${run}-1`);
await upsert(`ts-${run}-2`);
check(first.status === "active", "a new application is active");

// 2. List with paging, filtered by a typed status; the next page through `next` (also in the Link header).
const page = await client.GET("/v1/applications", { params: { query: { limit: 1, status: "active" } } });
check(page.data?.hasMore === true && page.data.next !== null && page.data.items.length === 1, "the first page says there is more");
check(page.response.headers.get("Link")?.includes('rel="next"') === true, "the first page links to the next");
const second = await client.GET("/v1/applications", { params: { query: { limit: 1, after: page.data.next ?? undefined } } });
check(second.data?.items[0]?.id !== page.data.items[0]?.id, "the next page has the next application");

// 3. Read one by FeedbackHub's id.
const detail = await client.GET("/v1/applications/{id}", { params: { path: { id: first.id } } });
check(detail.data?.externalId === first.externalId && detail.data.status === "active", "the application reads back");

// 4. Feedback with ETag and If-Match (a declared header parameter); a stale one is a typed 412 problem.
const started = await client.POST("/v1/feedback", { body: { applicationId: first.id, templateId } });
const etag = started.response.headers.get("ETag");
check(started.data !== undefined && etag === `"${started.data.version}"`, "the started feedback's ETag is its version");
const answers: Schemas["SaveAnswersRequest"] = {
  answers: [{ criterion: "problem-solving", band: "meets", phrases: ["Talking through alternatives earlier would have made your reasoning easier to follow."] }],
};
const id = started.data.id;
const saved = await client.PUT("/v1/feedback/{id}/answers", { params: { path: { id }, header: { "If-Match": etag } }, body: answers });
check(saved.data?.version === started.data.version + 1, "a save with the current ETag moves the version");
const stale = await client.PUT("/v1/feedback/{id}/answers", { params: { path: { id }, header: { "If-Match": etag } }, body: answers });
check(stale.response.status === 412 && stale.error?.type === "urn:feedbackhub:problem:stale-version", "the 412 is a typed stale-version problem");

// 5. A 422 read through the typed problem: field errors by path, the trace id also as X-Request-Id.
const invalid = await client.PUT("/v1/applications/by-external-id/{externalId}", {
  params: { path: { externalId: "bad id!" } },
  body: { candidate: { externalId: "c-1", firstName: "Ada", email: "ada@example.test" }, positionTitle: "Engineer" },
});
const problem: Schemas["ProblemDetails"] | undefined = invalid.error;
check(invalid.response.status === 422 && problem?.type === "urn:feedbackhub:problem:validation" && problem.errors?.["externalId"] !== undefined,
  "the 422 names the field");
check(problem.traceId === invalid.response.headers.get("X-Request-Id"), "the problem's traceId is the X-Request-Id");

// 6. A webhook ping to a local receiver, verified with the secret and read as the named event schema.
let listening!: (port: number) => void;
const port = new Promise<number>((resolve) => (listening = resolve));
const received = new Promise<{ signature: string; body: string }>((resolve) => {
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      response.writeHead(200).end("ok");
      server.close();
      resolve({ signature: String(request.headers["feedbackhub-signature"] ?? ""), body: Buffer.concat(chunks).toString("utf8") });
    });
  });
  server.listen(0, "127.0.0.1", () => listening((server.address() as AddressInfo).port));
});
const url = `http://127.0.0.1:${await port}/hook`;
const webhook = await client.POST("/v1/webhooks", { body: { url, events: ["delivery.sent"] } });
check(webhook.data !== undefined, "the subscription was created");
const ping = await client.POST("/v1/webhooks/{id}/ping", { params: { path: { id: webhook.data.id } } });
const { signature, body } = await received;
check(ping.data?.delivered === true && ping.data.statusCode === 200, "the ping was delivered");

// docs/webhooks.md, "Verifying a signature".
const parts = signature.split(",").map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)] as const);
const t = parts.find(([k]) => k === "t")?.[1] ?? "";
const expected = Buffer.from(createHmac("sha256", webhook.data.secret).update(`${t}.${body}`, "utf8").digest("hex"));
check(Math.abs(Date.now() / 1000 - Number(t)) < 300
  && parts.some(([k, v]) => k === "v1" && v.length === expected.length && timingSafeEqual(Buffer.from(v), expected)), "the ping's signature verifies");
const event = JSON.parse(body) as Schemas["WebhookPingEvent"];
check(event.type === "webhook.ping" && event.data.subscriptionId === webhook.data.id && event.id === ping.data.eventId, "the body is a webhook.ping event");

console.log("typescript smoke flow: passed");
