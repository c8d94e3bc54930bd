using System.Text.Json;
using FeedbackHub.Domain.Email;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Smtp;
using Microsoft.Extensions.Options;

namespace FeedbackHub.Worker.Tests.Foundation;

/// <summary>The SMTP client and MIME writer against the real SMTP sink.</summary>
[Collection(nameof(SmtpRules))]
public sealed class SmtpClientPoolTests : IAsyncLifetime
{
    private readonly SmtpClientPool _smtp = new(Options.Create(new SmtpOptions { Host = TestServices.SmtpHost, Port = TestServices.SmtpPort }));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        SmtpRules.Clear();
        await _smtp.DisposeAsync();
    }

    private static EmailMessage Message(string to, string subject = "Hello", string text = "Body", string? html = null, string fromName = "Acme Talent") =>
        new(new MailboxAddress(fromName, "talent@acme.example"), new MailboxAddress("Ada Lovelace", to), new MailboxAddress(null, "reply@acme.example"),
            subject, text, html, $"{Guid.NewGuid():N}@feedbackhub.test", DateTimeOffset.UtcNow);

    [Fact]
    public async Task Text_and_html_round_trip_exactly_including_dots_unicode_and_long_lines()
    {
        var to = MailSink.NewAddress();
        var text = ".starts with a dot\n..two dots\nÜnïcödé — “quotes” 👍\n" + new string('x', 300) + "\n.\nend";
        var html = "<p>Hello &amp; welcome</p>\n.<b>dot</b>";
        var reply = await _smtp.SendAsync(Message(to, "Feedback für Ada — ✓", text, html), CancellationToken.None);
        Assert.Equal(250, reply.Code);

        var mail = Assert.Single(await MailSink.WaitForAsync(to));
        Assert.Equal("Feedback für Ada — ✓", mail.Subject);
        Assert.Equal(text.Replace("\n", "\r\n", StringComparison.Ordinal), mail.TextBody);
        Assert.Equal(html.Replace("\n", "\r\n", StringComparison.Ordinal), mail.HtmlBody);
        Assert.All(mail.Raw.Split("\r\n"), line => Assert.True(line.Length <= 998));
        Assert.Equal("<reply@acme.example>", mail.Header("Reply-To"));
    }

    [Fact]
    public async Task CR_LF_in_names_and_subjects_cannot_inject_headers()
    {
        var to = MailSink.NewAddress();
        var reply = await _smtp.SendAsync(
            Message(to, subject: "Hi\r\nBcc: victim@example.test", fromName: "Acme\r\nX-Injected: yes"), CancellationToken.None);
        Assert.Equal(250, reply.Code);
        var mail = Assert.Single(await MailSink.WaitForAsync(to));
        Assert.Empty(mail.Headers("Bcc"));
        Assert.Empty(mail.Headers("X-Injected"));
        Assert.Equal(["X-Envelope-To"], mail.Raw.Split("\r\n").Where(l => l.StartsWith("X-Envelope-To", StringComparison.Ordinal)).Select(l => l.Split(':')[0]));
        Assert.Contains("Bcc: victim@example.test", mail.Subject, StringComparison.Ordinal); // kept as text, on one line
    }

    [Fact]
    public async Task Temporary_and_permanent_refusals_are_returned_with_the_servers_reply()
    {
        var temp = MailSink.NewAddress("temp");
        var perm = MailSink.NewAddress("perm");
        SmtpRules.Set(
            new { match = temp, code = 451, message = "4.3.0 Mailbox busy" },
            new { match = perm, code = 550, message = "5.1.1 No such user" });

        var r1 = await _smtp.SendAsync(Message(temp), CancellationToken.None);
        Assert.Equal(451, r1.Code);
        Assert.Contains("Mailbox busy", r1.Text, StringComparison.Ordinal);
        var r2 = await _smtp.SendAsync(Message(perm), CancellationToken.None);
        Assert.True(r2.IsPermanentFailure);

        // The pooled connection stays usable after refusals (RSET).
        var ok = MailSink.NewAddress();
        Assert.Equal(250, (await _smtp.SendAsync(Message(ok), CancellationToken.None)).Code);
        Assert.Single(await MailSink.WaitForAsync(ok));
        Assert.Empty(MailSink.For(temp));
    }

    [Fact]
    public async Task Cancelling_before_the_message_is_handed_over_sends_nothing()
    {
        var to = MailSink.NewAddress("cancel");
        SmtpRules.Set(new { match = to, stage = "rcpt", delay_ms = 1500 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _smtp.SendAsync(Message(to), cts.Token));

        await Task.Delay(2000); // the sink's delayed answer has come and gone
        Assert.Empty(MailSink.For(to));
        Assert.Empty(MailSink.LogFor(to));
    }

    [Fact]
    public async Task Cancelling_after_the_message_is_handed_over_still_returns_the_servers_answer()
    {
        var to = MailSink.NewAddress("late");
        SmtpRules.Set(new { match = to, stage = "data", delay_ms = 1500 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var reply = await _smtp.SendAsync(Message(to), cts.Token);

        Assert.True(cts.IsCancellationRequested);
        Assert.Equal(250, reply.Code);
        Assert.Single(await MailSink.WaitForAsync(to));
    }

    [Fact]
    public async Task No_answer_after_the_hand_over_is_reported_as_possibly_accepted_and_not_sent_again()
    {
        await using var impatient = new SmtpClientPool(Options.Create(new SmtpOptions
        {
            Host = TestServices.SmtpHost, Port = TestServices.SmtpPort, CommandTimeout = TimeSpan.FromMilliseconds(500),
        }));
        var warm = MailSink.NewAddress();
        Assert.Equal(250, (await impatient.SendAsync(Message(warm), CancellationToken.None)).Code); // the next send reuses this connection
        var to = MailSink.NewAddress("slow");
        // The first transaction gets no answer in time after its "."; any later one would be accepted at once.
        SmtpRules.Set(new { match = to, stage = "data", delay_ms = 1500, code = 451, times = 1 });

        var e = await Assert.ThrowsAsync<SmtpUnavailableException>(() => impatient.SendAsync(Message(to), CancellationToken.None));

        Assert.True(e.MayHaveBeenAccepted);
        await Task.Delay(2000);
        Assert.Empty(MailSink.For(to)); // the pool did not send it again on a fresh connection
    }

    [Fact]
    public async Task A_refusal_before_the_hand_over_is_not_possibly_accepted()
    {
        await using var impatient = new SmtpClientPool(Options.Create(new SmtpOptions
        {
            Host = TestServices.SmtpHost, Port = TestServices.SmtpPort, CommandTimeout = TimeSpan.FromMilliseconds(500),
        }));
        var to = MailSink.NewAddress("stall");
        SmtpRules.Set(new { match = to, stage = "rcpt", delay_ms = 1500 });

        var e = await Assert.ThrowsAsync<SmtpUnavailableException>(() => impatient.SendAsync(Message(to), CancellationToken.None));

        Assert.False(e.MayHaveBeenAccepted);
        await Task.Delay(2000);
        Assert.Empty(MailSink.For(to));
    }

    [Fact]
    public async Task Unreachable_server_throws_unavailable()
    {
        await using var nowhere = new SmtpClientPool(Options.Create(new SmtpOptions { Host = "127.0.0.1", Port = 1, CommandTimeout = TimeSpan.FromSeconds(2) }));
        await Assert.ThrowsAsync<SmtpUnavailableException>(() => nowhere.SendAsync(Message(MailSink.NewAddress()), CancellationToken.None));
    }
}

/// <summary>The sink's fault-injection rules file is shared: tests that write it run one at a time.</summary>
[CollectionDefinition(nameof(SmtpRules), DisableParallelization = true)]
public sealed class SmtpRules
{
    private static string PathOf => System.IO.Path.Combine(TestServices.SmtpDirectory, "smtp-rules.json");

    public static void Set(params object[] rules) =>
        File.WriteAllText(PathOf, JsonSerializer.Serialize(new { rules }));

    public static void Clear() => File.Delete(PathOf);
}
