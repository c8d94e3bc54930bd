using System.Text;
using MailKit;

namespace FeedbackHub.Worker.Smtp;

/// <summary>
/// Follows one MailKit connection's SMTP conversation (MailKit hands every byte to its protocol logger) to know which
/// command each reply answered, even when commands are pipelined: the stage and code of a refusal that MailKit reports
/// without them (a greeting, EHLO, STARTTLS or AUTH refusal, <c>ServiceNotAuthenticatedException</c> for 530), and the
/// stage a lost connection was waiting in. It records verbs and reply codes and texts, never logs, and skips the message
/// body and AUTH payloads. One connection is used by one send at a time, so no locking.
/// </summary>
internal sealed class SmtpConversation : IProtocolLogger
{
    private const int MaxReplyText = 512;

    private readonly Queue<SmtpStage?> _awaiting = new();
    private readonly StringBuilder _clientLine = new();
    private readonly StringBuilder _serverLine = new();
    private readonly StringBuilder _replyText = new();
    private bool _inBody;
    private SmtpStage _lastSent = SmtpStage.Connect;

    /// <summary>The first 4xx/5xx reply since <see cref="Begin"/>: the cause of a refusal (later replies are its echoes, like 503 after a refused MAIL FROM).</summary>
    public SmtpReplySeen? FirstRefusal { get; private set; }

    /// <summary>The last complete reply of any kind.</summary>
    public SmtpReplySeen? LastReply { get; private set; }

    /// <summary>Where the conversation is: the oldest command still waiting for its reply, the body, or the last command sent.</summary>
    public SmtpStage Stage => _awaiting.Count > 0 ? _awaiting.Peek() ?? _lastSent : _inBody ? SmtpStage.Data : _lastSent;

    /// <summary>Starts a new phase (opening, one transaction): forgets the previous refusal.</summary>
    public void Begin()
    {
        FirstRefusal = null;
        LastReply = null;
    }

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public void LogConnect(Uri uri)
    {
    }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        for (var i = offset; i < offset + count && !_inBody; i++)
        {
            var b = buffer[i];
            if (b == '\n')
            {
                ClientLine(_clientLine.ToString().TrimEnd('\r'));
                _clientLine.Clear();
            }
            else if (_clientLine.Length < 64)
            {
                _clientLine.Append((char)b);
            }
        }
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        for (var i = offset; i < offset + count; i++)
        {
            var b = buffer[i];
            if (b == '\n')
            {
                ServerLine(_serverLine.ToString().TrimEnd('\r'));
                _serverLine.Clear();
            }
            else if (_serverLine.Length < MaxReplyText)
            {
                _serverLine.Append((char)b);
            }
        }
    }

    public void Dispose()
    {
    }

    private void ClientLine(string line)
    {
        var end = line.IndexOf(' ', StringComparison.Ordinal);
        var verb = (end < 0 ? line : line[..end]).ToUpperInvariant();
        SmtpStage? stage = verb switch
        {
            "EHLO" or "HELO" => SmtpStage.Ehlo,
            "STARTTLS" => SmtpStage.Tls,
            "AUTH" => SmtpStage.Auth,
            "MAIL" => SmtpStage.MailFrom,
            "RCPT" => SmtpStage.RcptTo,
            "DATA" or "BDAT" => SmtpStage.Data,
            "RSET" or "NOOP" or "QUIT" => null,
            _ => _lastSent, // an AUTH continuation (base64): answered like the AUTH it continues
        };
        _awaiting.Enqueue(stage);
        if (stage is { } s)
            _lastSent = s;
        if (verb == "BDAT")
            _inBody = true; // the chunk follows the command at once; its reply ends it
    }

    private void ServerLine(string line)
    {
        if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code))
            return;
        if (_replyText.Length > 0)
            _replyText.Append(' ');
        if (line.Length > 4 && _replyText.Length < MaxReplyText)
            _replyText.Append(line.AsSpan(4));
        if (line.Length > 3 && line[3] == '-')
            return; // more lines of the same reply follow

        SmtpStage? stage;
        if (_awaiting.Count > 0)
            stage = _awaiting.Dequeue();
        else
            stage = _inBody || _lastSent == SmtpStage.Data ? SmtpStage.Data : SmtpStage.Connect; // the answer after "." or the greeting
        var reply = new SmtpReplySeen(stage ?? _lastSent, code, _replyText.ToString());
        _replyText.Clear();

        if (code == 354)
            _inBody = true; // DATA accepted: the body follows, then the answer after "."
        else if (_inBody)
            _inBody = false;

        LastReply = reply;
        if (code >= 400 && stage is not null)
            FirstRefusal ??= reply;
    }
}

/// <summary>One SMTP reply and the stage of the command it answered.</summary>
internal sealed record SmtpReplySeen(SmtpStage Stage, int Code, string Text);
