using FeedbackHub.Domain.Email;

namespace FeedbackHub.Domain.Tests.Model;

public sealed class MimeWriterTests
{
    private static EmailMessage Message(string subject = "Hello", string fromName = "Acme", string? html = "<p>Hi</p>") =>
        new(new MailboxAddress(fromName, "talent@acme.example"), new MailboxAddress("Ada", "ada@example.test"), null,
            subject, "Line one\n.Line two", html, "abc@feedbackhub.test", new DateTimeOffset(2026, 11, 1, 9, 30, 0, TimeSpan.Zero));

    private static string[] HeaderLines(string mime) => mime[..mime.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");

    [Fact]
    public void Headers_cannot_be_injected_through_names_or_subjects()
    {
        var mime = MimeWriter.Write(Message(subject: "Hi\r\nBcc: x@y.z", fromName: "A\nX-Evil: 1"));
        var headers = HeaderLines(mime);
        Assert.DoesNotContain(headers, h => h.StartsWith("Bcc:", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(headers, h => h.StartsWith("X-Evil", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Non_ascii_subjects_are_encoded_words()
    {
        var mime = MimeWriter.Write(Message(subject: "Rückmeldung ✓"));
        var subject = HeaderLines(mime).Single(h => h.StartsWith("Subject:", StringComparison.Ordinal));
        Assert.StartsWith("Subject: =?utf-8?B?", subject, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_and_html_go_in_multipart_alternative_and_no_body_line_starts_with_a_dot()
    {
        var mime = MimeWriter.Write(Message());
        Assert.Contains("Content-Type: multipart/alternative;", mime, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/plain; charset=utf-8", mime, StringComparison.Ordinal);
        Assert.Contains("Content-Type: text/html; charset=utf-8", mime, StringComparison.Ordinal);
        Assert.Contains("=2ELine two", mime, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\n.", mime, StringComparison.Ordinal);
        Assert.All(mime.Split("\r\n"), l => Assert.True(l.Length <= 78, l));
    }

    [Fact]
    public void Addresses_with_header_characters_are_refused()
    {
        var bad = Message() with { To = new MailboxAddress(null, "a@b.c>\r\nBcc: <x@y.z") };
        Assert.Throws<ArgumentException>(() => MimeWriter.Write(bad));
    }
}
