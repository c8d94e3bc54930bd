using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using FeedbackHub.Domain.Email;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Smtp;

public sealed class SmtpOptions
{
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 25;

    /// <summary>Name sent in EHLO.</summary>
    public string ClientName { get; set; } = "feedbackhub-worker";

    /// <summary>Connections kept open for reuse.</summary>
    public int MaxIdleConnections { get; set; } = 8;

    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>An SMTP reply: code and text, e.g. 250 "2.0.0 OK", and the stage of the conversation it answered.</summary>
public sealed record SmtpReply(int Code, string Text)
{
    /// <summary>What the reply answered (the greeting, EHLO, MAIL FROM, RCPT TO, DATA or the final ".").</summary>
    public SmtpStage Stage { get; init; } = SmtpStage.Data;

    public bool IsPositive => Code is >= 200 and < 400;

    public bool IsPermanentFailure => Code is >= 500 and < 600;

    public override string ToString() => $"{Code} {Text}";
}

/// <summary>Connection failures, timeouts and a refused greeting or EHLO: the conversation could not go on.</summary>
public sealed class SmtpUnavailableException(string message, Exception? inner = null, bool mayHaveBeenAccepted = false, SmtpStage stage = SmtpStage.Connect, SmtpReply? reply = null)
    : Exception(message, inner)
{
    /// <summary>Where the conversation stopped.</summary>
    public SmtpStage Stage { get; } = stage;

    /// <summary>The server's refusal, when it answered (a greeting or EHLO other than 220 / 250); null when it did not.</summary>
    public SmtpReply? Reply { get; } = reply;

    /// <summary>
    /// The whole message had been handed over (the final "." was sent) when the connection failed or the answer timed out:
    /// the server may have accepted it, so sending it again may deliver it twice.
    /// </summary>
    public bool MayHaveBeenAccepted { get; } = mayHaveBeenAccepted;
}

public interface ISmtpSender
{
    /// <summary>
    /// Sends one message. Returns the server's final reply: 250 when accepted, or the 4xx/5xx that refused it.
    /// Throws <see cref="SmtpUnavailableException"/> when the server cannot be reached or stops answering.
    /// The token is honoured only until the message is handed over: an <see cref="OperationCanceledException"/> means
    /// the server never received the end of the message (so it cannot have accepted it). Once the final "." is sent,
    /// the server's answer is awaited under the command timeout alone, so an accepted email is never reported as cancelled.
    /// </summary>
    Task<SmtpReply> SendAsync(EmailMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// A small SMTP client over pooled sockets with TCP_NODELAY (System.Net.Mail never sets it and waits on
/// Nagle + delayed ACK for every message, ~44 ms each; see ENVIRONMENT.md). Connections are reused across
/// messages (RSET after a refusal) and dropped on any protocol surprise.
/// </summary>
public sealed class SmtpClientPool(IOptions<SmtpOptions> options) : ISmtpSender, IAsyncDisposable
{
    private readonly SmtpOptions _options = options.Value;
    private readonly ConcurrentBag<SmtpConnection> _idle = [];

    public async Task<SmtpReply> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var data = MimeWriter.Write(message);
        // A reused connection may have been closed by the server while idle: one fresh retry.
        for (var attempt = 0; ; attempt++)
        {
            var reused = _idle.TryTake(out var connection);
            connection ??= await SmtpConnection.OpenAsync(_options, cancellationToken);
            try
            {
                var reply = await connection.SendAsync(message.From.Address, message.To.Address, data, cancellationToken);
                Return(connection);
                return reply;
            }
            catch (SmtpUnavailableException e) when (reused && attempt == 0 && !e.MayHaveBeenAccepted)
            {
                await connection.DisposeAsync();
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }
        }
    }

    private void Return(SmtpConnection connection)
    {
        if (_idle.Count < _options.MaxIdleConnections)
            _idle.Add(connection);
        else
            _ = connection.DisposeAsync().AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var c))
            await c.DisposeAsync();
    }
}

internal sealed class SmtpConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly SmtpOptions _options;

    private SmtpConnection(TcpClient tcp, SmtpOptions options)
    {
        _tcp = tcp;
        _options = options;
        _stream = tcp.GetStream();
        _reader = new StreamReader(_stream, Encoding.ASCII, detectEncodingFromByteOrderMarks: false, bufferSize: 1024, leaveOpen: true);
    }

    public static async Task<SmtpConnection> OpenAsync(SmtpOptions options, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using var timeout = Timeout(options, ct);
            await tcp.ConnectAsync(options.Host, options.Port, timeout.Token);
            var connection = new SmtpConnection(tcp, options);
            var stage = SmtpStage.Connect;
            try
            {
                var greeting = await connection.ReadReplyAsync(ct);
                if (greeting.Code != 220)
                    throw new SmtpUnavailableException($"SMTP server greeted with {greeting}.", stage: stage, reply: greeting with { Stage = stage });
                stage = SmtpStage.Ehlo;
                var ehlo = await connection.CommandAsync($"EHLO {options.ClientName}", ct);
                if (ehlo.Code != 250)
                    throw new SmtpUnavailableException($"SMTP server refused EHLO: {ehlo}.", stage: stage, reply: ehlo with { Stage = stage });
                return connection;
            }
            catch (SmtpUnavailableException e) when (e.Reply is null && e.Stage != stage)
            {
                throw new SmtpUnavailableException(e.Message, e, stage: stage);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            tcp.Dispose();
            throw new SmtpUnavailableException($"SMTP server {options.Host}:{options.Port} is not reachable ({e.GetType().Name}).", e);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    public async Task<SmtpReply> SendAsync(string from, string to, string data, CancellationToken ct)
    {
        var handedOver = false;
        var stage = SmtpStage.MailFrom;
        try
        {
            var mail = await CommandAsync($"MAIL FROM:<{from}>", ct) with { Stage = stage };
            if (mail.Code != 250)
                return await ResetAfter(mail, ct);
            stage = SmtpStage.RcptTo;
            var rcpt = await CommandAsync($"RCPT TO:<{to}>", ct) with { Stage = stage };
            if (rcpt.Code is not (250 or 251))
                return await ResetAfter(rcpt, ct);
            stage = SmtpStage.Data;
            var start = await CommandAsync("DATA", ct) with { Stage = stage };
            if (start.Code != 354)
                return await ResetAfter(start, ct);
            // Cancelling while the body is written leaves the server without the final ".": it discards the message.
            await WriteAsync(DotStuff(data), ct);
            handedOver = true;
            await WriteAsync(".\r\n", CancellationToken.None);
            return await ReadReplyAsync(CancellationToken.None) with { Stage = stage };
        }
        catch (Exception e) when (handedOver && e is IOException or SocketException or OperationCanceledException or SmtpUnavailableException)
        {
            throw new SmtpUnavailableException(
                $"SMTP connection failed after the message was handed over ({e.GetType().Name}: {e.Message}); the server may have accepted it.", e, mayHaveBeenAccepted: true, stage: stage);
        }
        catch (SmtpUnavailableException e) when (e.Reply is null)
        {
            throw new SmtpUnavailableException(e.Message, e, stage: stage);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new SmtpUnavailableException($"SMTP connection failed ({e.GetType().Name}).", e, stage: stage);
        }
    }

    private async Task<SmtpReply> ResetAfter(SmtpReply refusal, CancellationToken ct)
    {
        var reset = await CommandAsync("RSET", ct);
        if (reset.Code != 250)
            throw new SmtpUnavailableException($"SMTP server refused RSET: {reset}.");
        return refusal;
    }

    private async Task<SmtpReply> CommandAsync(string command, CancellationToken ct)
    {
        await WriteAsync(command + "\r\n", ct);
        return await ReadReplyAsync(ct);
    }

    private async Task WriteAsync(string text, CancellationToken ct)
    {
        using var timeout = Timeout(_options, ct);
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text), timeout.Token);
    }

    /// <summary>Reads a (possibly multi-line) reply: "250-..." lines continue, "250 ..." ends it.</summary>
    private async Task<SmtpReply> ReadReplyAsync(CancellationToken ct)
    {
        using var timeout = Timeout(_options, ct);
        var text = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(timeout.Token)
                ?? throw new SmtpUnavailableException("SMTP server closed the connection.");
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code))
                throw new SmtpUnavailableException("SMTP server sent a malformed reply.");
            if (text.Length > 0)
                text.Append(' ');
            text.Append(line.Length > 4 ? line[4..] : string.Empty);
            if (line.Length == 3 || line[3] == ' ')
                return new SmtpReply(code, text.ToString());
        }
    }

    /// <summary>RFC 5321 4.5.2: a line starting with '.' gets one more.</summary>
    private static string DotStuff(string data)
    {
        var stuffed = data.Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        return stuffed.StartsWith('.') ? "." + stuffed : stuffed;
    }

    private static CancellationTokenSource Timeout(SmtpOptions options, CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(options.CommandTimeout);
        return cts;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_tcp.Connected)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _stream.WriteAsync("QUIT\r\n"u8.ToArray(), cts.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Closing anyway.
        }

        _reader.Dispose();
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
