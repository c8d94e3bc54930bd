using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Kestrel answers requests it cannot parse (a NUL in the path, a request line over its limit, malformed headers) by
/// itself, before any middleware runs, with an empty body that no hook can change. This connection middleware gives
/// those answers the same RFC 9457 body as every other error. It recognises them by their shape: an HTTP/1.1 4xx head
/// with <c>Content-Length: 0</c> and <c>Connection: close</c> but without the <c>X-Content-Type-Options</c> header
/// that every answer of the application carries (<see cref="ResponseHeaders"/>). Everything else passes untouched.
/// </summary>
internal static class ProtocolErrorBodies
{
    public static void Use(IConnectionBuilder connection) =>
        connection.Use(next => context =>
        {
            var transport = context.Transport;
            context.Transport = new Pipe(transport, new RewritingWriter(transport.Output, context.ConnectionId));
            return next(context);
        });

    private sealed class Pipe(IDuplexPipe inner, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => inner.Input;

        public PipeWriter Output => output;
    }

    private sealed class RewritingWriter(PipeWriter inner, string connectionId) : PipeWriter
    {
        private static readonly byte[] Http1Error = "HTTP/1.1 4"u8.ToArray();
        private Memory<byte> _last;

        public override void Advance(int bytes)
        {
            if (bytes >= Http1Error.Length && _last.Span.StartsWith(Http1Error) && Replacement(_last.Span[..bytes]) is { } replacement)
            {
                var target = inner.GetSpan(replacement.Length);
                replacement.CopyTo(target);
                inner.Advance(replacement.Length);
                return;
            }

            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _last = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_last = inner.GetMemory(sizeHint)).Span;

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        /// <summary>The head with a problem body, when <paramref name="written"/> is one of Kestrel's own empty error answers.</summary>
        private byte[]? Replacement(ReadOnlySpan<byte> written)
        {
            if (written.Length > 1024 || !written.EndsWith("\r\n\r\n"u8))
                return null;
            var head = Encoding.ASCII.GetString(written);
            if (!head.Contains("\r\nContent-Length: 0\r\n", StringComparison.OrdinalIgnoreCase)
                || !head.Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase)
                || head.Contains("\r\nX-Content-Type-Options:", StringComparison.OrdinalIgnoreCase)
                || !int.TryParse(head.AsSpan(9, 3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status))
                return null;

            var (code, title, detail) = status switch
            {
                414 => ("uri-too-long", "The request URI is too long.", "Shorten the path and query string (at most 8 KB)."),
                431 => ("headers-too-large", "The request headers are too large.", "Send fewer or shorter headers."),
                413 => ("payload-too-large", "The request body is too large.", "The request body is larger than this API accepts."),
                408 => ("request-timeout", "The request took too long to arrive.", "Send the whole request promptly."),
                411 => ("length-required", "The request needs a length.", "Send Content-Length or a chunked body."),
                _ => ("bad-request", "The request could not be read.", "The HTTP request is malformed (for example a control character in the path, or an invalid header)."),
            };
            var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new ProblemBody(Problems.Type(code), title, status, detail, "connection:" + connectionId), ProblemJson.Default.ProblemBody);
            var newHead = head[..^2]
                .Replace("\r\nContent-Length: 0\r\n", $"\r\nContent-Length: {body.Length}\r\n", StringComparison.OrdinalIgnoreCase)
                + "Content-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n";
            return [.. Encoding.ASCII.GetBytes(newHead), .. body];
        }
    }

    internal sealed record ProblemBody(string Type, string Title, int Status, string Detail, string TraceId);
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ProtocolErrorBodies.ProblemBody))]
internal sealed partial class ProblemJson : System.Text.Json.Serialization.JsonSerializerContext;
