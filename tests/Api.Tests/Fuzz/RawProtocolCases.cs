using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FeedbackHub.Api.Tests.Fuzz;

public sealed record RawResult(int Cases, ViolationReport Report, string Log);

/// <summary>
/// One hand-written request sent byte for byte over a TcpClient to the loopback Kestrel.
/// <paramref name="ServerLevel"/>: requests Kestrel refuses before the app runs (malformed HTTP, a NUL in the path,
/// its request-line and header limits): its 4xx carries no problem document and the app cannot change that, so only
/// "no 5xx and an answer" is asserted.
/// </summary>
public sealed record RawCase(string Name, string Method, string Target, string Headers, byte[]? Body, bool ServerLevel = false, string? Verbatim = null)
{
    public byte[] Bytes(string host)
    {
        if (Verbatim is not null)
            return Encoding.UTF8.GetBytes(Verbatim.Replace("{host}", host, StringComparison.Ordinal));
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{Method} {Target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{Headers}");
        if (Body is not null)
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {Body.Length}\r\n");
        head.Append("\r\n");
        return [.. Encoding.UTF8.GetBytes(head.ToString()), .. Body ?? []];
    }
}

public static class RawProtocolCases
{
    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static IReadOnlyList<RawCase> All(FuzzHost host)
    {
        var auth = $"Authorization: Bearer {host.Storm.KeyFor("admin")}\r\n";
        var recruiter = $"Authorization: Bearer {host.Storm.KeyFor("recruiter")}\r\n";
        var interviewer = $"Authorization: Bearer {host.Storm.KeyFor("interviewer")}\r\n";
        var json = "Content-Type: application/json\r\n";
        var webhook = Utf8("""{"url":"https://127.0.0.1:9/hooks/raw","events":["delivery.sent"],"description":"raw"}""");
        var template = Utf8(System.Text.Json.JsonSerializer.Serialize(Templates.TemplateLifecycleTests.Request(), FeedbackHub.Tests.HttpAssertions.Json));
        var check = Utf8("""{"text":"Thank you for your time."}""");
        var templateId = host.Storm.Ids["templates"][0];
        var feedbackId = host.Storm.Ids["feedback"][0];
        var answers = Utf8("""{"answers":[{"criterion":"problem-solving","band":"meets","comment":null,"phrases":[]}]}""");
        var upsert = Utf8("""{"candidate":{"externalId":"raw-cand","firstName":"Ada","email":"raw@example.test"},"positionTitle":"Backend Engineer"}""");
        return
        [
            new("NUL in a path id", "GET", "/v1/applications/%00", auth, null, ServerLevel: true),
            new("encoded dot segments in an id", "GET", "/v1/applications/%2e%2e%2fsettings", auth, null),
            new("encoded slash in an id", "GET", "/v1/applications/a%2Fb", auth, null),
            new("7 KB query string", "GET", "/v1/applications?position=" + new string('a', 7 * 1024), auth, null),
            new("20 KB query string", "GET", "/v1/applications?position=" + new string('a', 20 * 1024), auth, null, ServerLevel: true),
            new("invalid percent-encoding in the query", "GET", "/v1/applications?limit=%ZZ", auth, null),
            new("the same query parameter twice", "GET", "/v1/applications?limit=1&limit=2", auth, null),
            new("POST without Content-Type", "POST", "/v1/webhooks", auth, webhook),
            new("charset=iso-8859-1", "POST", "/v1/webhooks", auth + "Content-Type: application/json; charset=iso-8859-1\r\n",
                Encoding.Latin1.GetBytes("""{"url":"https://127.0.0.1:9/hooks/latin","events":["delivery.sent"],"description":"café"}""")),
            new("bad JSON body", "POST", "/v1/webhooks", auth + json, Utf8("""{"url": """)),
            new("duplicate property names", "POST", "/v1/webhooks", auth + json,
                Utf8("""{"url":"https://127.0.0.1:9/hooks/a","url":"https://127.0.0.1:9/hooks/b","events":["delivery.sent"]}""")),
            new("text/plain body", "POST", "/v1/webhooks", auth + "Content-Type: text/plain\r\n", webhook),
            new("form body", "POST", "/v1/webhooks", auth + "Content-Type: application/x-www-form-urlencoded\r\n", Utf8("url=https%3A%2F%2F93.184.216.34%2Fh&events=delivery.sent")),
            new("multipart body", "POST", "/v1/webhooks", auth + "Content-Type: multipart/form-data; boundary=x\r\n", Utf8("--x\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\nhttps://127.0.0.1:9/h\r\n--x--\r\n")),
            new("UTF-8 BOM before JSON", "POST", "/v1/language/check", auth + json, [0xEF, 0xBB, 0xBF, .. check]),
            new("invalid UTF-8 in a JSON string", "POST", "/v1/language/check", auth + json, [.. Utf8("{\"text\":\"a"), 0xC3, 0x28, 0xFF, .. Utf8("\"}")]),
            new("200 KB of nested arrays", "POST", "/v1/language/check", auth + json, Utf8(new string('[', 100_000) + new string(']', 100_000))),
            new("number 1e999", "POST", "/v1/language/check-batch", auth + json, Utf8("""{"items":[{"id":1e999,"text":"x"}]}""")),
            new("Content-Encoding gzip on a plain body", "POST", "/v1/language/check", auth + json + "Content-Encoding: gzip\r\n", check),
            new("Expect: 100-continue", "POST", "/v1/language/check", auth + json + "Expect: 100-continue\r\n", check),
            new("900 KB text (under the body limit)", "POST", "/v1/language/check", auth + json, Utf8("{\"text\":\"" + string.Concat(Enumerable.Repeat("word ", 180_000)) + "\"}")),
            new("2 MB body (over the body limit)", "POST", "/v1/language/check", auth + json, Utf8("{\"text\":\"" + new string('a', 2 * 1024 * 1024) + "\"}")),
            new("HEAD on a list", "HEAD", "/v1/applications", auth, null),
            new("HEAD on settings", "HEAD", "/v1/settings", auth, null),
            new("HEAD on a template", "HEAD", $"/v1/templates/{templateId}", auth, null),
            new("unknown method PURGE", "PURGE", "/v1/applications", auth, null),
            new("PROPFIND on settings", "PROPFIND", "/v1/settings", auth, null),
            new("TRACE on settings", "TRACE", "/v1/settings", auth, null),
            new("OPTIONS on settings", "OPTIONS", "/v1/settings", auth, null),
            new("DELETE on settings", "DELETE", "/v1/settings", auth, null),
            new("PATCH on a list", "PATCH", "/v1/applications", auth + json, Utf8("{}")),
            new("lower-case method", "get", "/v1/settings", auth, null),
            new("PUT with a trailing slash and an empty id", "PUT", "/v1/applications/", recruiter + json, upsert),
            new("If-Match list", "PUT", $"/v1/feedback/{feedbackId}/answers", interviewer + json + "If-Match: \"a\", \"b\", W/\"c\", *\r\n", answers),
            new("If-Match * with If-None-Match *", "PUT", $"/v1/feedback/{feedbackId}/answers", interviewer + json + "If-Match: *\r\nIf-None-Match: *\r\n", answers),
            new("If-Match of 4 KB", "PUT", $"/v1/feedback/{feedbackId}/answers", interviewer + json + $"If-Match: \"{new string('e', 4096)}\"\r\n", answers),
            new("Idempotency-Key of 10 KB", "POST", "/v1/templates", recruiter + json + $"Idempotency-Key: {new string('k', 10 * 1024)}\r\n", template),
            new("non-ASCII Idempotency-Key", "POST", "/v1/templates", recruiter + json + "Idempotency-Key: clé-ünï\r\n", template),
            new("Authorization of 8 KB", "GET", "/v1/settings", $"Authorization: Bearer fh_{new string('x', 8 * 1024)}\r\n", null),
            new("Basic authorization", "GET", "/v1/settings", "Authorization: Basic YWRtaW46YWRtaW4=\r\n", null),
            new("empty Bearer", "GET", "/v1/settings", "Authorization: Bearer\r\n", null),
            new("two Authorization headers", "GET", "/v1/settings", auth + "Authorization: Bearer fh_bogus\r\n", null),
            new("Accept: application/xml only", "GET", "/v1/settings", auth + "Accept: application/xml\r\n", null),
            new("90 extra headers", "GET", "/v1/settings", auth + string.Concat(Enumerable.Range(0, 90).Select(i => $"X-Fuzz-{i}: {i}\r\n")), null),
            new("Host: another site", "GET", "/v1/settings", auth, null, Verbatim: $"GET /v1/settings HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n{auth}\r\n"),
            new("double slashes", "GET", "//v1//applications", auth, null),
            new("raw dot segments", "GET", "/v1/applications/../settings", auth, null),
            new("absolute-form target", "GET", "http://{host}/v1/settings", auth, null, Verbatim: $"GET http://{{host}}/v1/settings HTTP/1.1\r\nHost: {{host}}\r\nConnection: close\r\n{auth}\r\n"),
            new("HTTP/1.0 without Host", "GET", "/v1/settings", auth, null, Verbatim: $"GET /v1/settings HTTP/1.0\r\n{auth}\r\n"),
            new("unknown path", "GET", "/v1/no-such-thing", auth, null),
            new("root path", "GET", "/", auth, null),
            new("public request without a body", "POST", "/v1/public/feedback-requests/not-a-token", "", null),
            new("public request with a NUL token", "GET", "/v1/public/feedback-requests/%00", "", null, ServerLevel: true),

            // Malformed HTTP: Kestrel answers before the app.
            new("HTTP/1.1 without Host", "GET", "/v1/settings", "", null, ServerLevel: true, Verbatim: $"GET /v1/settings HTTP/1.1\r\nConnection: close\r\n{auth}\r\n"),
            new("Content-Length: -1", "POST", "/v1/language/check", "", null, ServerLevel: true, Verbatim: $"POST /v1/language/check HTTP/1.1\r\nHost: {{host}}\r\n{auth}{json}Content-Length: -1\r\nConnection: close\r\n\r\n{{}}"),
            new("bad chunk size", "POST", "/v1/language/check", "", null, ServerLevel: true, Verbatim: $"POST /v1/language/check HTTP/1.1\r\nHost: {{host}}\r\n{auth}{json}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"),
            new("Content-Length and Transfer-Encoding", "POST", "/v1/language/check", "", null, ServerLevel: true, Verbatim: $"POST /v1/language/check HTTP/1.1\r\nHost: {{host}}\r\n{auth}{json}Content-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n"),
            new("header line without a colon", "GET", "/v1/settings", "", null, ServerLevel: true, Verbatim: $"GET /v1/settings HTTP/1.1\r\nHost: {{host}}\r\nthis is not a header\r\nConnection: close\r\n\r\n"),
            new("bare LF line endings", "GET", "/v1/settings", "", null, ServerLevel: true, Verbatim: "GET /v1/settings HTTP/1.1\nHost: {host}\nConnection: close\n\n"),
            new("NUL byte in a header value", "GET", "/v1/settings", "", null, ServerLevel: true, Verbatim: "GET /v1/settings HTTP/1.1\r\nHost: {host}\r\nX-Fuzz: a\u0000b\r\nConnection: close\r\n\r\n"),
            new("110 headers (Kestrel allows 100)", "GET", "/v1/settings", auth + string.Concat(Enumerable.Range(0, 110).Select(i => $"X-Fuzz-{i}: {i}\r\n")), null, ServerLevel: true),
            new("40 KB of headers", "GET", "/v1/settings", "", null, ServerLevel: true, Verbatim: $"GET /v1/settings HTTP/1.1\r\nHost: {{host}}\r\nX-Big: {new string('h', 40 * 1024)}\r\nConnection: close\r\n\r\n"),
            new("asterisk-form OPTIONS", "OPTIONS", "*", "", null, ServerLevel: true, Verbatim: "OPTIONS * HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        ];
    }

    public static async Task<RawResult> RunAsync(FuzzHost host)
    {
        var oracle = new FuzzOracle(host.Spec);
        var report = new ViolationReport();
        var log = new StringBuilder();
        var cases = All(host);
        var hostHeader = $"127.0.0.1:{host.BaseAddress.Port}";
        foreach (var raw in cases)
        {
            var answer = await SendAsync(host.BaseAddress.Port, raw.Bytes(hostHeader), host.Settings.RequestTimeout);
            var where = $"{raw.Method} {(raw.Target.Length > 60 ? raw.Target[..60] + "..." : raw.Target)}";
            log.AppendLine(CultureInfo.InvariantCulture, $"  {raw.Name}: {answer.Status} {answer.ContentType ?? "(no content type)"}{(raw.ServerLevel ? " [server level]" : "")}");
            if (answer.Status == 0)
            {
                report.Add(new Violation(where, "raw", raw.Name, 0, "no answer", answer.Body));
                continue;
            }

            if (raw.ServerLevel)
            {
                if (answer.Status >= 500)
                    report.Add(new Violation(where, "raw", raw.Name, answer.Status, FuzzOracle.ServerError, answer.Body));
                continue;
            }

            var method = string.Equals(raw.Method.ToUpperInvariant(), raw.Method, StringComparison.Ordinal) ? raw.Method : "(" + raw.Method + ")";
            var operation = host.Spec.Match(method, raw.Target);
            foreach (var (kind, detail) in oracle.Check(operation, raw.Method, answer))
                report.Add(new Violation(operation?.ToString() ?? where, "raw", raw.Name, answer.Status, kind, detail));
        }

        return new RawResult(cases.Count, report, log.ToString());
    }

    /// <summary>Writes the bytes to the loopback port and reads the whole answer (every case says Connection: close).</summary>
    private static async Task<FuzzAnswer> SendAsync(int port, byte[] request, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        using var tcp = new TcpClient();
        var received = new MemoryStream();
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancel.Token);
            var stream = tcp.GetStream();
            try
            {
                await stream.WriteAsync(request, cancel.Token);
            }
            catch (IOException)
            {
                // The server may answer and close before reading a body it refused (e.g. 413): read what it said.
            }

            try
            {
                await stream.CopyToAsync(received, cancel.Token);
            }
            catch (IOException) when (received.Length > 0)
            {
                // Reset after the answer: what arrived is complete enough to judge.
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            if (received.Length == 0)
                return new FuzzAnswer(0, null, $"no answer ({e.GetType().Name})");
        }

        return Parse(received.ToArray());
    }

    private static FuzzAnswer Parse(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0 || !text.StartsWith("HTTP/", StringComparison.Ordinal))
            return new FuzzAnswer(0, null, "not an HTTP answer: " + text[..Math.Min(80, text.Length)]);
        var lines = text[..split].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var body = bytes[(split + 4)..];
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            body = Dechunk(body);
        return new FuzzAnswer(status, headers.GetValueOrDefault("Content-Type"), Encoding.UTF8.GetString(body));
    }

    private static byte[] Dechunk(byte[] body)
    {
        var output = new MemoryStream();
        var at = 0;
        while (at < body.Length)
        {
            var lineEnd = Array.IndexOf(body, (byte)'\n', at);
            if (lineEnd < 0)
                break;
            var sizeText = Encoding.ASCII.GetString(body, at, lineEnd - at).Trim().Split(';')[0];
            if (!int.TryParse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size == 0)
                break;
            var start = lineEnd + 1;
            output.Write(body, start, Math.Min(size, body.Length - start));
            at = start + size + 2;
        }

        return output.ToArray();
    }
}
