using System.Security.Cryptography;
using System.Text;
using FeedbackHub.Domain.Email;
using FeedbackHub.Worker.Smtp;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using MailboxAddress = FeedbackHub.Domain.Email.MailboxAddress;

namespace FeedbackHub.Worker.Tests.Smtp;

/// <summary>The MIME message built for every email, and its DKIM signature checked by MimeKit's own verifier.</summary>
public sealed class EmailMimeTests
{
    internal static EmailMessage Message(string subject = "Hello", string fromName = "Acme", string text = "Line one\n.Line two", string? html = "<p>Hi</p>",
        MailboxAddress? replyTo = null, DkimSigning? dkim = null) =>
        new(new MailboxAddress(fromName, "talent@acme.example"), new MailboxAddress("Ada", "ada@example.test"), replyTo,
            subject, text, html, "abc@feedbackhub.test", new DateTimeOffset(2026, 11, 1, 10, 30, 0, TimeSpan.FromHours(1)), dkim);

    internal static string Serialize(MimeMessage mime)
    {
        using var stream = new MemoryStream();
        mime.WriteTo(EmailMime.Format, stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string[] HeaderLines(string raw) => raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");

    [Fact]
    public void Headers_cannot_be_injected_through_names_or_subjects()
    {
        var raw = Serialize(EmailMime.Create(Message(subject: "Hi\r\nBcc: x@y.z", fromName: "A\nX-Evil: 1")));
        var headers = HeaderLines(raw);
        Assert.DoesNotContain(headers, h => h.StartsWith("Bcc:", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(headers, h => h.StartsWith("X-Evil", StringComparison.OrdinalIgnoreCase));
        var parsed = MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
        Assert.Equal("Hi  Bcc: x@y.z", parsed.Subject); // kept as text, on one line
        Assert.Empty(parsed.Bcc);
    }

    [Fact]
    public void Addresses_and_message_ids_with_header_characters_are_refused()
    {
        Assert.Throws<ArgumentException>(() => EmailMime.Create(Message() with { To = new MailboxAddress(null, "a@b.c>\r\nBcc: <x@y.z") }));
        Assert.Throws<ArgumentException>(() => EmailMime.Create(Message() with { MessageId = "a b@c" }));
    }

    [Fact]
    public void Non_ascii_subjects_and_names_are_encoded_words_that_decode_back()
    {
        var raw = Serialize(EmailMime.Create(Message(subject: "Rückmeldung für Zoë ✓", fromName: "Ünïcode Talent")));
        var headers = HeaderLines(raw);
        Assert.All(headers, h => Assert.True(h.All(char.IsAscii), h));
        Assert.Contains(headers, h => h.StartsWith("Subject: =?utf-8?", StringComparison.OrdinalIgnoreCase));
        var parsed = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
        Assert.Equal("Rückmeldung für Zoë ✓", parsed.Subject);
        Assert.Equal("Ünïcode Talent", parsed.From.Mailboxes.Single().Name);
    }

    [Fact]
    public void Text_and_html_go_in_multipart_alternative_as_utf8_quoted_printable()
    {
        var raw = Serialize(EmailMime.Create(Message(text: "Grüße\n.Line two", html: "<p>Grüße</p>")));
        Assert.Contains("Content-Type: multipart/alternative;", raw, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/plain; charset=utf-8", raw, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/html; charset=utf-8", raw, StringComparison.Ordinal);
        Assert.Contains("Content-Transfer-Encoding: quoted-printable", raw, StringComparison.Ordinal);
        Assert.All(raw.Split("\r\n"), l => Assert.True(l.Length <= 78 && l.All(char.IsAscii), l));
        var parsed = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
        Assert.Equal("Grüße\n.Line two", parsed.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Equal("<p>Grüße</p>", parsed.HtmlBody!.TrimEnd('\r', '\n'));
    }

    [Fact]
    public void Text_alone_when_there_is_no_html()
    {
        var mime = EmailMime.Create(Message(html: null));
        var part = Assert.IsType<TextPart>(mime.Body);
        Assert.True(part.IsPlain);
        Assert.DoesNotContain("multipart", Serialize(mime), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Message_id_date_reply_to_and_auto_submitted_are_set()
    {
        var mime = EmailMime.Create(Message(replyTo: new MailboxAddress("Recruiter", "recruiter@acme.example")));
        var headers = HeaderLines(Serialize(mime));
        Assert.Contains("Message-Id: <abc@feedbackhub.test>", headers, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("Date: Sun, 01 Nov 2026 09:30:00 +0000", headers);
        Assert.Contains("Reply-To: Recruiter <recruiter@acme.example>", headers);
        Assert.Contains("Auto-Submitted: auto-generated", headers);
        Assert.Contains("MIME-Version: 1.0", headers);
    }

    [Fact]
    public void Without_a_key_the_message_is_not_signed()
    {
        Assert.DoesNotContain(EmailMime.Create(Message()).Headers, h => h.Id == HeaderId.DkimSignature);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_signed_message_verifies_with_the_public_key_and_a_tampered_body_does_not(bool pkcs8)
    {
        using var key = RSA.Create(2048);
        var mime = EmailMime.Create(Message(subject: "Rückmeldung ✓", replyTo: new MailboxAddress(null, "r@acme.example"), dkim: Dkim(key, pkcs8)));

        var signature = Assert.Single(mime.Headers, h => h.Id == HeaderId.DkimSignature);
        Assert.Contains("a=rsa-sha256", signature.Value, StringComparison.Ordinal);
        Assert.Contains("c=relaxed/relaxed", signature.Value, StringComparison.Ordinal);
        Assert.Contains("d=acme.example", signature.Value, StringComparison.Ordinal);
        Assert.Contains("s=fh2026", signature.Value, StringComparison.Ordinal);
        var signed = SignedHeaders(signature.Value);
        Assert.Equal(["from", "to", "reply-to", "subject", "date", "message-id", "mime-version", "content-type"], signed);

        // As received: serialized, parsed back, verified with the key DNS would publish.
        var received = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(Serialize(mime))));
        Assert.True(await VerifyAsync(received, key));

        var tampered = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(Serialize(mime).Replace("Line two", "Line 2", StringComparison.Ordinal))));
        Assert.False(await VerifyAsync(tampered, key));
        var otherSubject = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(Serialize(mime))));
        otherSubject.Subject = "Something else";
        Assert.False(await VerifyAsync(otherSubject, key));
    }

    internal static DkimSigning Dkim(RSA key, bool pkcs8 = true) =>
        new("acme.example", "fh2026", pkcs8 ? key.ExportPkcs8PrivateKeyPem() : key.ExportRSAPrivateKeyPem());

    internal static async Task<bool> VerifyAsync(MimeMessage message, RSA key)
    {
        var verifier = new DkimVerifier(new OnePublicKey("acme.example", "fh2026", Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())));
        var signature = message.Headers.Single(h => h.Id == HeaderId.DkimSignature);
        return await verifier.VerifyAsync(message, signature);
    }

    private static string[] SignedHeaders(string signature) =>
        signature.Replace(" ", "", StringComparison.Ordinal).Replace("\r\n", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal)
            .Split(';').Single(t => t.StartsWith("h=", StringComparison.Ordinal))[2..].ToLowerInvariant().Split(':');

    /// <summary>What a DNS TXT lookup of selector._domainkey.domain would give: one published key.</summary>
    private sealed class OnePublicKey(string domain, string selector, string publicKeyBase64) : DkimPublicKeyLocatorBase
    {
        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain1, string selector1, CancellationToken cancellationToken = default) =>
            domain1 == domain && selector1 == selector
                ? GetPublicKey($"v=DKIM1; k=rsa; p={publicKeyBase64}")
                : throw new InvalidOperationException($"No key published for {selector1}._domainkey.{domain1}.");

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain1, string selector1, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain1, selector1, cancellationToken));
    }
}
