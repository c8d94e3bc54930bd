using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FeedbackHub.Tests;

/// <summary>One request as the receiver saw it: path, the FeedbackHub headers and the raw body.</summary>
public sealed record ReceivedWebhook(
    string Path, string? Signature, string? EventId, string? EventType, string? DeliveryId, string? Attempt, string? ContentType, string? UserAgent, string Body,
    DateTimeOffset ReceivedAt);

/// <summary>What the receiver answers: a status, after a delay, optionally with a Location header.</summary>
public sealed record ReceiverAnswer(int Status, TimeSpan Delay = default, string? Location = null);

/// <summary>
/// A real HTTP receiver (Kestrel on 127.0.0.1, a random port) that records every request and answers as the test says.
/// <see cref="Verify"/> checks a signature the way docs/webhooks.md tells a receiver to, independently of FeedbackHub's code.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly ConcurrentDictionary<string, (int Now, int Most)> _open = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>Decides the answer from the request and how many requests this path has seen before it (0 for the first).</summary>
    public Func<ReceivedWebhook, int, ReceiverAnswer> Answer { get; set; } = (_, _) => new ReceiverAnswer(200);

    public IReadOnlyList<ReceivedWebhook> Received => _received.ToList();

    public int Port { get; private set; }

    public string Url(string path = "/hook") => $"http://127.0.0.1:{Port}{path}";

    public IReadOnlyList<ReceivedWebhook> At(string path) => _received.Where(r => r.Path == path).ToList();

    /// <summary>The most requests to this path the receiver had open at the same time (from arrival until its answer was written).</summary>
    public int MostAtOnce(string path) => _open.TryGetValue(path, out var open) ? open.Most : 0;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        receiver.Port = new Uri(app.Urls.Single()).Port;
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var headers = context.Request.Headers;
        var path = context.Request.Path.Value ?? "/";
        var request = new ReceivedWebhook(path, headers["FeedbackHub-Signature"], headers["FeedbackHub-Event-Id"], headers["FeedbackHub-Event-Type"],
            headers["FeedbackHub-Delivery-Id"], headers["FeedbackHub-Attempt"], headers.ContentType, headers.UserAgent, body, DateTimeOffset.UtcNow);
        _open.AddOrUpdate(path, _ => (1, 1), (_, o) => (o.Now + 1, Math.Max(o.Most, o.Now + 1)));
        try
        {
            var before = _received.Count(r => r.Path == path);
            _received.Enqueue(request);
            var answer = Answer(request, before);
            if (answer.Delay > TimeSpan.Zero)
                await Task.Delay(answer.Delay);
            context.Response.StatusCode = answer.Status;
            if (answer.Location is not null)
                context.Response.Headers.Location = answer.Location;
            await context.Response.WriteAsync(answer.Status is >= 200 and < 300 ? "ok" : "nope " + answer.Status);
        }
        finally
        {
            _open.AddOrUpdate(path, _ => (0, 0), (_, o) => (o.Now - 1, o.Most));
        }
    }

    /// <summary>
    /// The receiver's check, written from docs/webhooks.md: split the header into t and v1, refuse a timestamp more than
    /// 5 minutes away, compute HMAC-SHA256 over "t.body" with the secret as key (both UTF-8), compare in constant time.
    /// </summary>
    public static bool Verify(string secret, string? header, string body, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(header))
            return false;
        long? t = null;
        var candidates = new List<string>();
        foreach (var part in header.Split(','))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2)
                continue;
            if (kv[0] == "t" && long.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ts))
                t = ts;
            else if (kv[0] == "v1")
                candidates.Add(kv[1]);
        }

        if (t is null || Math.Abs(now.ToUnixTimeSeconds() - t.Value) > 300)
            return false;
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexString(hmac.ComputeHash(Encoding.UTF8.GetBytes($"{t.Value}.{body}"))).ToLowerInvariant());
        return candidates.Any(c => CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(c)));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
