using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using FeedbackHub.Domain.Telemetry;

namespace FeedbackHub.Domain.Webhooks;

/// <summary>What one HTTP attempt gave.</summary>
public sealed record WebhookSendResult(string Outcome, int? StatusCode, int DurationMs, string? Error, string? ResponseExcerpt);

/// <summary>The host refused as a webhook target at connection time.</summary>
public sealed class WebhookTargetRefusedException(string reason) : Exception(reason);

/// <summary>
/// POSTs webhook bodies. Redirects are not followed, no proxy is used, and the connection is made by a callback that
/// resolves the host itself, refuses it when the name or ANY of its addresses is blocked (<see cref="WebhookAddressPolicy"/>),
/// and connects to the address it checked, so DNS cannot answer differently between the check and the connection.
/// Two separate handlers: strict, and allow-private for development tenants, so a pooled connection opened for a
/// development tenant never serves a strict one.
/// </summary>
public sealed class WebhookSender(FeedbackHubMetrics? metrics = null) : IDisposable
{
    public const string UserAgent = "FeedbackHub-Webhooks/1.0";
    private readonly HttpClient _strict = Create(allowPrivate: false);
    private readonly HttpClient _allowPrivate = Create(allowPrivate: true);

    public async Task<WebhookSendResult> SendAsync(
        Uri url, string body, IEnumerable<KeyValuePair<string, string>> headers, bool allowPrivate, TimeSpan timeout, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await SendOnceAsync(url, body, headers, allowPrivate, timeout, ct);
        metrics?.WebhookSend(Stopwatch.GetElapsedTime(started), result.Outcome);
        return result;
    }

    private async Task<WebhookSendResult> SendOnceAsync(
        Uri url, string body, IEnumerable<KeyValuePair<string, string>> headers, bool allowPrivate, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(headers);
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.UserAgent.ParseAdd(UserAgent);
        foreach (var (name, value) in headers)
            request.Headers.TryAddWithoutValidation(name, value);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await (allowPrivate ? _allowPrivate : _strict).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            var excerpt = await ExcerptAsync(response, limit.Token);
            var code = (int)response.StatusCode;
            var ms = Ms(watch);
            return code switch
            {
                >= 200 and < 300 => new WebhookSendResult(WebhookAttemptOutcomes.Delivered, code, ms, null, excerpt),
                >= 300 and < 400 => new WebhookSendResult(WebhookAttemptOutcomes.RedirectNotFollowed, code, ms,
                    $"HTTP {code}: redirects are not followed; subscribe the final URL.", excerpt),
                _ => new WebhookSendResult(WebhookAttemptOutcomes.HttpError, code, ms, $"HTTP {code} {response.ReasonPhrase}".TrimEnd(), excerpt),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new WebhookSendResult(WebhookAttemptOutcomes.Timeout, null, Ms(watch), $"No answer within {timeout.TotalSeconds:0.###} s.", null);
        }
        catch (HttpRequestException e) when (Find<WebhookTargetRefusedException>(e) is { } refused)
        {
            return new WebhookSendResult(WebhookAttemptOutcomes.RefusedAddress, null, Ms(watch),
                $"Refused target: {refused.Message}. Fix the URL (or the tenant setting) and redeliver.", null);
        }
        catch (HttpRequestException e)
        {
            var detail = Find<SocketException>(e) is { } socket ? $"{socket.SocketErrorCode}" : e.HttpRequestError.ToString();
            return new WebhookSendResult(WebhookAttemptOutcomes.NetworkError, null, Ms(watch), $"Network error: {detail}.", null);
        }
    }

    public void Dispose()
    {
        _strict.Dispose();
        _allowPrivate.Dispose();
    }

    private static HttpClient Create(bool allowPrivate)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, allowPrivate, ct),
        };
        return new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    }

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, bool allowPrivate, CancellationToken ct)
    {
        var resolution = await WebhookTargets.ResolveAsync(endpoint.Host, allowPrivate, ct);
        if (resolution.Refusal is { } reason)
            throw new WebhookTargetRefusedException(reason);
        if (resolution.Unresolvable)
            throw new SocketException((int)SocketError.HostNotFound);

        Exception? last = null;
        foreach (var address in resolution.Addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private static async Task<string?> ExcerptAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var buffer = new byte[1024];
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0)
                break;
            read += n;
        }

        if (read == 0)
            return null;
        var text = Encoding.UTF8.GetString(buffer, 0, read);
        return text.Length > Outbound.OutboundAttempt.MaxExcerptLength ? text[..Outbound.OutboundAttempt.MaxExcerptLength] : text;
    }

    private static T? Find<T>(Exception e)
        where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is T found)
                return found;
        }

        return null;
    }

    private static int Ms(Stopwatch watch) => (int)Math.Min(int.MaxValue, watch.ElapsedMilliseconds);
}
