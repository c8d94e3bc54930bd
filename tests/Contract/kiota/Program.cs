// The contract test's smoke flow with the Kiota C# client generated from the served document: what an ATS
// integration does, through generated types only. Environment: FH_BASE_URL, FH_KEY (roles admin, integration,
// recruiter; the tenant allows private webhook targets), FH_TEMPLATE_ID (a published template). Exit code 0 = passed.
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FeedbackHub.Client;
using FeedbackHub.Client.Models;
using FeedbackHub.Client.V1.Applications;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;

var baseUrl = Environment.GetEnvironmentVariable("FH_BASE_URL") ?? throw new InvalidOperationException("FH_BASE_URL");
var key = Environment.GetEnvironmentVariable("FH_KEY") ?? throw new InvalidOperationException("FH_KEY");
var templateId = Guid.Parse(Environment.GetEnvironmentVariable("FH_TEMPLATE_ID") ?? throw new InvalidOperationException("FH_TEMPLATE_ID"), CultureInfo.InvariantCulture);

using var http = KiotaClientFactory.Create();
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
var client = new FeedbackHubClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http) { BaseUrl = baseUrl });
var run = Guid.NewGuid().ToString("N")[..8];

// 1. Upsert two applications by the ATS's ids.
var first = await Upsert($"kiota-{run}-1");
await Upsert($"kiota-{run}-2");
Check(first.Status == ApplicationResponse_status.Active, "a new application is active");

// 2. List with paging: one per page, filtered by a typed status.
var page = await client.V1.Applications.GetAsync(c => { c.QueryParameters.Limit = 1; c.QueryParameters.Status = GetStatusQueryParameterType.Active; });
Check(page is { HasMore: true, Next: not null, Items.Count: 1 }, "the first page says there is more");
var second = await client.V1.Applications.GetAsync(c => { c.QueryParameters.Limit = 1; c.QueryParameters.After = page!.Next; });
Check(second?.Items?.Count == 1 && second.Items[0].Id != page!.Items![0].Id, "the next page has the next application");

// 3. Read one by FeedbackHub's id.
var detail = await client.V1.Applications[first.Id!.Value].GetAsync();
Check(detail is { Status: ApplicationDetailResponse_status.Active } && detail.ExternalId == first.ExternalId, "the application reads back");

// 4. Feedback with ETag and If-Match: the ETag comes back on every write; a stale If-Match is a typed 412 problem.
var headers = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
var feedback = await client.V1.Feedback.PostAsync(new StartFeedbackRequest { ApplicationId = first.Id, TemplateId = templateId }, c => c.Options.Add(headers));
var etag = headers.ResponseHeaders["ETag"].Single();
Check(feedback is { Status: FeedbackStatus.Draft } && etag == $"\"{feedback.Version}\"", "the started feedback's ETag is its version");
var answers = new SaveAnswersRequest
{
    Answers = [new Answer { Criterion = "problem-solving", Band = "meets", Phrases = ["Talking through alternatives earlier would have made your reasoning easier to follow."] }],
};
var saved = await client.V1.Feedback[feedback!.Id!.Value].Answers.PutAsync(answers, c => c.Headers.Add("If-Match", etag));
Check(saved?.Version == feedback.Version + 1, "a save with the current ETag moves the version");
try
{
    await client.V1.Feedback[feedback.Id!.Value].Answers.PutAsync(answers, c => c.Headers.Add("If-Match", etag));
    Check(false, "a stale If-Match is refused");
}
catch (ProblemDetails stale) when (stale.ResponseStatusCode == 412)
{
    Check(stale.Type == "urn:feedbackhub:problem:stale-version", "the 412 is a typed stale-version problem");
}

// 5. A 422 read through the typed problem: field errors by path.
try
{
    await client.V1.Applications.ByExternalId["bad id!"].PutAsync(new UpsertApplicationRequest
    {
        Candidate = new UpsertCandidateRequest { ExternalId = "c-1", FirstName = "Ada", Email = "ada@example.test" },
        PositionTitle = "Engineer",
    });
    Check(false, "a bad external id is refused");
}
catch (ProblemDetails invalid) when (invalid.ResponseStatusCode == 422)
{
    Check(invalid.Type == "urn:feedbackhub:problem:validation" && invalid.Errors?.AdditionalData.ContainsKey("externalId") == true && invalid.TraceId is { Length: > 0 },
        "the 422 names the field and the trace id");
}

// 6. A webhook ping to a local receiver, verified with the subscription's secret and parsed as its named event schema.
var port = FreePort();
using var listener = new HttpListener();
listener.Prefixes.Add($"http://127.0.0.1:{port}/");
listener.Start();
var received = ReceiveOneAsync(listener);
var webhook = await client.V1.Webhooks.PostAsync(new CreateWebhookRequest { Url = $"http://127.0.0.1:{port}/hook", Events = [CreateWebhookRequest_events.DeliverySent] });
var ping = await client.V1.Webhooks[webhook!.Id!.Value].Ping.PostAsync();
var (signature, body) = await received;
Check(ping is { Delivered: true, StatusCode: 200 }, "the ping was delivered");
Check(Verify(webhook.Secret!, signature, body), "the ping's signature verifies with the secret");
var parsed = await KiotaJsonSerializer.DeserializeAsync(body, WebhookPingEvent.CreateFromDiscriminatorValue);
Check(parsed is { Type: WebhookPingEvent_type.WebhookPing } && parsed.Data?.SubscriptionId == webhook.Id && parsed.Id == ping!.EventId, "the body is a typed webhook.ping event");

Console.WriteLine("kiota smoke flow: passed");
return 0;

async Task<ApplicationResponse> Upsert(string externalId) =>
    await client.V1.Applications.ByExternalId[externalId].PutAsync(new UpsertApplicationRequest
    {
        Candidate = new UpsertCandidateRequest { ExternalId = externalId + "-c", FirstName = "Ada", Email = "ada@example.test" },
        PositionTitle = "Backend Engineer",
        Status = UpsertApplicationRequest_status.Active,
    }) ?? throw new InvalidOperationException("no answer");

static void Check(bool condition, string what)
{
    if (!condition)
        throw new InvalidOperationException("kiota smoke flow failed: " + what);
    Console.WriteLine("ok: " + what);
}

static int FreePort()
{
    using var probe = new TcpListener(IPAddress.Loopback, 0);
    probe.Start();
    return ((IPEndPoint)probe.LocalEndpoint).Port;
}

static async Task<(string Signature, string Body)> ReceiveOneAsync(HttpListener listener)
{
    var context = await listener.GetContextAsync();
    using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
    var body = await reader.ReadToEndAsync();
    var signature = context.Request.Headers["FeedbackHub-Signature"] ?? string.Empty;
    context.Response.StatusCode = 200;
    context.Response.Close();
    return (signature, body);
}

// docs/webhooks.md, "Verifying a signature".
static bool Verify(string secret, string header, string body)
{
    var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToList();
    var t = parts.Single(p => p[0] == "t")[1];
    if (Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(t, CultureInfo.InvariantCulture)) > 300)
        return false;
    var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + body))));
    return parts.Where(p => p[0] == "v1").Any(p => CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(p[1])));
}
