using System.Diagnostics;
using System.Security.Cryptography;
using FeedbackHub.Domain.Email;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Smtp;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using MailboxAddress = FeedbackHub.Domain.Email.MailboxAddress;

namespace FeedbackHub.Worker.Tests.Smtp;

/// <summary>The MailKit sender against real SMTP servers (private smtp_sink.py processes): plain, STARTTLS, implicit TLS, AUTH, refusals.</summary>
public sealed class MailKitEmailSenderTests : IAsyncLifetime
{
    private const string User = "feedbackhub";
    private const string Password = "s3cret-Pa55";
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            await owned.DisposeAsync();
    }

    private async Task<SinkProcess> SinkAsync(params string[] options) => Own(await SinkProcess.StartAsync(options));

    private async Task<SinkProcess> TlsSinkAsync(params string[] options) => Own(await SinkProcess.StartWithCertificateAsync(options));

    private T Own<T>(T disposable) where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private MailKitEmailSender Sender(SinkProcess sink, SmtpSecurity security = SmtpSecurity.None, SmtpHealth? health = null, string? user = null,
        string? password = null, bool allowUntrusted = false, string environment = "Development", TimeSpan? commandTimeout = null, int port = 0, int maxConnections = 8) =>
        Own(new MailKitEmailSender(
            Options.Create(new SmtpOptions
            {
                Host = sink.Host, Port = port == 0 ? sink.Port : port, Security = security, Username = user, Password = password,
                AllowUntrustedCertificates = allowUntrusted, CommandTimeout = commandTimeout ?? TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(10),
                MaxConnections = maxConnections,
            }),
            health ?? new SmtpHealth(new ListLogger<SmtpHealth>()),
            new HostingEnvironment { EnvironmentName = environment }));

    internal static EmailMessage Message(string to, string subject = "Hello", string text = "Body", string? html = null, DkimSigning? dkim = null) =>
        new(new MailboxAddress("Acme Talent", "talent@acme.example"), new MailboxAddress("Ada Lovelace", to), new MailboxAddress(null, "reply@acme.example"),
            subject, text, html, $"{Guid.NewGuid():N}@feedbackhub.test", DateTimeOffset.UtcNow, dkim);

    private static string NewAddress(string tag = "candidate") => $"{tag}-{Guid.NewGuid():N}@example.test";

    private static async Task<SendResult> SendAsync(MailKitEmailSender sender, string to, CancellationToken cancellationToken = default) =>
        await sender.SendAsync(Message(to), cancellationToken);

    // ---- plain SMTP: content, pooling, refusals -------------------------------------------------------------------

    [Fact]
    public async Task Text_and_html_arrive_intact_including_dots_unicode_and_long_lines()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);
        var to = NewAddress();
        var text = ".starts with a dot\n..two dots\nÜnïcödé — “quotes” 👍\n" + new string('x', 300) + "\n.\nend";
        var html = "<p>Hello &amp; welcome</p>\n.<b>dot</b>";

        var result = await sender.SendAsync(Message(to, "Feedback für Ada — ✓", text, html), CancellationToken.None);

        Assert.Equal(SendVerdict.Accepted, result.Verdict);
        Assert.Equal(250, result.Code);
        Assert.Equal("2.0.0", result.EnhancedCode);
        var mail = Assert.Single(sink.MailTo(to));
        Assert.Equal("Feedback für Ada — ✓", mail.Subject);
        Assert.Equal(text.ReplaceLineEndings("\n"), mail.TextBody!.ReplaceLineEndings("\n"));
        Assert.Equal(html.ReplaceLineEndings("\n"), mail.HtmlBody!.ReplaceLineEndings("\n"));
        Assert.Equal("reply@acme.example", mail.ReplyTo.Mailboxes.Single().Address);
        var file = Directory.EnumerateFiles(Path.Combine(sink.Directory, "mail"), "*.eml").Single();
        var raw = await File.ReadAllTextAsync(file);
        Assert.All(raw.Split("\r\n"), line => Assert.True(line.Length <= 998));

        // The pipeline tests read captured mail with the small parser in tests/Shared: it reads this sender's output too.
        var captured = new CapturedMail(file, raw);
        Assert.Equal("Feedback für Ada — ✓", captured.Subject);
        Assert.Equal(text.ReplaceLineEndings("\r\n"), captured.TextBody);
        Assert.Equal(html.ReplaceLineEndings("\r\n"), captured.HtmlBody);
        Assert.Equal((null, "reply@acme.example"), captured.Mailbox("Reply-To"));
        Assert.Equal(("Acme Talent", "talent@acme.example"), captured.Mailbox("From"));
        Assert.Equal(("Ada Lovelace", to), captured.Mailbox("To"));
    }

    [Fact]
    public async Task Emails_larger_than_one_write_do_not_wait_for_delayed_acks()
    {
        // Without TCP_NODELAY every message over ~4 KB waits 40 ms or more for the server's delayed ACK (Nagle).
        var sink = await SinkAsync();
        var sender = Sender(sink);
        var body = string.Concat(Enumerable.Repeat("Feedback line with some words in it.\n", 300)); // ~11 KB
        Assert.True((await sender.SendAsync(Message(NewAddress(), text: body), CancellationToken.None)).IsAccepted);

        var times = new List<double>();
        for (var i = 0; i < 15; i++)
        {
            var watch = Stopwatch.StartNew();
            Assert.True((await sender.SendAsync(Message(NewAddress(), text: body), CancellationToken.None)).IsAccepted);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Assert.True(times[times.Count / 2] < 30, $"median {times[times.Count / 2]:F1} ms per message");
        Assert.Single(sink.Log("connected"));
    }

    [Fact]
    public async Task Connections_are_reused_across_messages_and_after_refusals()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);
        var refused = NewAddress("refused");
        sink.SetRules(new { match = refused, code = 550, message = "5.1.1 No such user" });

        for (var i = 0; i < 5; i++)
            Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);
        Assert.Equal(SendVerdict.RecipientRefused, (await SendAsync(sender, refused)).Verdict);
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);

        Assert.Single(sink.Log("connected"));
        Assert.Equal(6, sink.Log("accepted").Count);
    }

    [Fact]
    public async Task Parallel_sends_use_one_connection_each_and_keep_them()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);

        for (var round = 0; round < 3; round++)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SendAsync(sender, NewAddress())));
            Assert.All(results, r => Assert.True(r.IsAccepted));
        }

        Assert.Equal(12, sink.Log("accepted").Count);
        Assert.InRange(sink.Log("connected").Count, 1, 4 + 1); // never one per message
    }

    [Fact]
    public async Task Sends_beyond_the_connection_limit_wait_for_a_pooled_connection_instead_of_opening_more()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink, maxConnections: 2);
        var recipients = Enumerable.Range(0, 12).Select(_ => NewAddress()).ToList();

        var results = await Task.WhenAll(recipients.Select(to => SendAsync(sender, to)));

        Assert.All(results, r => Assert.True(r.IsAccepted, r.ToString()));
        Assert.All(recipients, to => Assert.Single(sink.MailTo(to)));
        Assert.InRange(sink.Log("connected").Count, 1, 2); // 12 emails, never more than the limit, none opened per email
    }

    [Fact]
    public async Task A_batch_whose_connections_were_dropped_mid_way_reconnects_and_sends_each_email_exactly_once()
    {
        // An idle timeout of 2 s, not 1: on a busy machine (the suite's classes run in parallel) a pooled connection could
        // sit idle for a second within a batch and be dropped there too, which this test does not count.
        var sink = await SinkAsync("--idle-timeout", "2");
        var sender = Sender(sink, maxConnections: 2);
        var first = Enumerable.Range(0, 6).Select(_ => NewAddress()).ToList();
        Assert.All(await Task.WhenAll(first.Select(to => SendAsync(sender, to))), r => Assert.True(r.IsAccepted, r.ToString()));

        // Between batches the server drops both pooled connections (its idle timeout); then, mid-batch, a reused connection
        // answers MAIL FROM with 421 and closes. Nothing was handed over on either, so each email goes out once on a fresh one.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var second = Enumerable.Range(0, 6).Select(_ => NewAddress()).ToList();
        Assert.All(await Task.WhenAll(second.Select(to => SendAsync(sender, to))), r => Assert.True(r.IsAccepted, r.ToString()));
        sink.SetRules(new { match = "*", stage = "mail", code = 421, message = "4.4.2 Closing connection", times = 1 });
        var third = Enumerable.Range(0, 6).Select(_ => NewAddress()).ToList();
        Assert.All(await Task.WhenAll(third.Select(to => SendAsync(sender, to))), r => Assert.True(r.IsAccepted, r.ToString()));

        Assert.All(first.Concat(second).Concat(third), to => Assert.Single(sink.MailTo(to)));
        Assert.Equal(18, sink.Log("accepted").Count);
        Assert.InRange(sink.Log("connected").Count, 3, 2 + 2 + 1); // the dropped ones and the closing one replaced, never one per email
    }

    [Fact]
    public async Task An_idle_connection_the_server_closed_is_replaced()
    {
        var sink = await SinkAsync("--idle-timeout", "1");
        var sender = Sender(sink);
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);

        await Task.Delay(TimeSpan.FromSeconds(2)); // the sink closes the idle connection
        var result = await SendAsync(sender, NewAddress());

        Assert.True(result.IsAccepted, result.ToString());
        Assert.Equal(2, sink.Log("connected").Count);
    }

    [Fact]
    public async Task A_reused_connection_that_turns_out_closing_is_retried_once_on_a_fresh_one()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);
        sink.SetRules(new { match = "*", stage = "mail", code = 421, message = "4.4.2 Idle too long, closing", times = 1 });

        var to = NewAddress();
        var result = await SendAsync(sender, to);

        Assert.True(result.IsAccepted, result.ToString());
        Assert.Single(sink.MailTo(to));
        Assert.Equal(2, sink.Log("connected").Count);
    }

    [Theory]
    [InlineData("rcpt", 550, "5.1.1 No such user", SendVerdict.RecipientRefused, SmtpStage.RcptTo)]
    [InlineData("rcpt", 550, "No such user here", SendVerdict.RecipientRefused, SmtpStage.RcptTo)]
    [InlineData("rcpt", 451, "4.3.0 Try again later", SendVerdict.Deferred, SmtpStage.RcptTo)]
    [InlineData("rcpt", 550, "5.7.1 Relaying denied", SendVerdict.ServerProblem, SmtpStage.RcptTo)]
    [InlineData("rcpt", 553, "5.1.8 Sender address rejected: Domain not found", SendVerdict.ServerProblem, SmtpStage.RcptTo)]
    [InlineData("mail", 530, "5.7.0 Authentication required", SendVerdict.ServerProblem, SmtpStage.MailFrom)]
    [InlineData("mail", 553, "5.7.1 Sender not allowed", SendVerdict.ServerProblem, SmtpStage.MailFrom)]
    [InlineData("mail", 451, "4.3.0 Try again later", SendVerdict.Deferred, SmtpStage.MailFrom)]
    [InlineData("data", 552, "5.3.4 Message too big", SendVerdict.ServerProblem, SmtpStage.Data)]
    [InlineData("data", 451, "4.3.0 Try again later", SendVerdict.Deferred, SmtpStage.Data)]
    [InlineData("connect", 554, "5.7.1 No SMTP service here", SendVerdict.ServerProblem, SmtpStage.Connect)]
    [InlineData("connect", 421, "4.3.2 Too busy", SendVerdict.Deferred, SmtpStage.Connect)]
    public async Task Each_refusal_is_classified_by_stage_and_code(string stage, int code, string message, SendVerdict verdict, SmtpStage where)
    {
        var sink = await SinkAsync();
        var health = new SmtpHealth(new ListLogger<SmtpHealth>());
        var sender = Sender(sink, health: health);
        sink.SetRules(new { match = "*", stage, code, message });
        var to = NewAddress();

        var result = await SendAsync(sender, to);

        Assert.Equal(verdict, result.Verdict);
        Assert.Equal(where, result.Stage);
        Assert.Equal(code, result.Code);
        Assert.Equal(SmtpClassification.EnhancedCode(message), result.EnhancedCode);
        Assert.Contains(message, result.Text, StringComparison.Ordinal);
        Assert.False(result.MayHaveBeenAccepted);
        Assert.Empty(sink.MailTo(to));
        Assert.Equal(verdict == SendVerdict.ServerProblem, health.Problem is not null);

        // The next email, once the server takes it again, goes through (on the same connection when it survived).
        sink.ClearRules();
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);
        Assert.Null(health.Problem);
    }

    [Fact]
    public async Task An_unreachable_server_is_deferred_at_connect()
    {
        await using var sender = new MailKitEmailSender(
            Options.Create(new SmtpOptions { Host = "127.0.0.1", Port = 1, Security = SmtpSecurity.None, ConnectTimeout = TimeSpan.FromSeconds(2) }),
            new SmtpHealth(new ListLogger<SmtpHealth>()), new HostingEnvironment { EnvironmentName = "Production" });

        var result = await SendAsync(sender, NewAddress());

        Assert.Equal(SendVerdict.Deferred, result.Verdict);
        Assert.Equal(SmtpStage.Connect, result.Stage);
        Assert.Equal(0, result.Code);
    }

    // ---- cancellation and the hand-over ---------------------------------------------------------------------------

    [Fact]
    public async Task Cancelling_before_the_message_is_handed_over_throws_and_sends_nothing()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted); // connected and warm: the 300 ms fall inside the transaction
        var to = NewAddress("cancel");
        sink.SetRules(new { match = to, stage = "rcpt", delay_ms = 1500 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SendAsync(sender, to, cts.Token));

        await Task.Delay(2000); // the sink's delayed answer has come and gone
        Assert.Empty(sink.MailTo(to));
        Assert.Single(sink.Log("accepted")); // the warm-up only
    }

    [Fact]
    public async Task Cancelling_after_the_message_is_handed_over_still_returns_the_servers_answer()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted); // connected and warm: the 300 ms fall inside the transaction
        var to = NewAddress("late");
        sink.SetRules(new { match = to, stage = "data", answer_delay_ms = 1500 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await SendAsync(sender, to, cts.Token);

        Assert.True(cts.IsCancellationRequested);
        Assert.Equal(SendVerdict.Accepted, result.Verdict);
        Assert.Single(sink.MailTo(to));
    }

    [Fact]
    public async Task No_answer_after_the_hand_over_is_possibly_accepted_and_not_sent_again()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink, commandTimeout: TimeSpan.FromMilliseconds(500));
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted); // the next send reuses this connection
        var to = NewAddress("slow");
        // The first transaction gets no answer in time after its "."; any later one would be accepted at once.
        sink.SetRules(new { match = to, stage = "data", delay_ms = 1500, code = 451, times = 1 });

        var result = await SendAsync(sender, to);

        Assert.Equal(SendVerdict.Deferred, result.Verdict);
        Assert.Equal(SmtpStage.Data, result.Stage);
        Assert.True(result.MayHaveBeenAccepted);
        await Task.Delay(2000);
        Assert.Empty(sink.MailTo(to)); // not sent again on a fresh connection
    }

    [Fact]
    public async Task A_stall_before_the_hand_over_is_deferred_and_not_possibly_accepted()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink, commandTimeout: TimeSpan.FromMilliseconds(500));
        var to = NewAddress("stall");
        sink.SetRules(new { match = to, stage = "rcpt", delay_ms = 1500 });

        var result = await SendAsync(sender, to);

        Assert.Equal(SendVerdict.Deferred, result.Verdict);
        Assert.False(result.MayHaveBeenAccepted);
        Assert.Equal(0, result.Code);
        await Task.Delay(2000);
        Assert.Empty(sink.MailTo(to));
    }

    // ---- TLS and AUTH ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task StartTls_and_auth_deliver_over_an_encrypted_authenticated_connection()
    {
        var sink = await TlsSinkAsync("--require-starttls", "--auth", $"{User}:{Password}");
        var health = new SmtpHealth(new ListLogger<SmtpHealth>());
        var sender = Sender(sink, SmtpSecurity.StartTls, health, User, Password, allowUntrusted: true);
        var to = NewAddress();

        var result = await SendAsync(sender, to);

        Assert.Equal(SendVerdict.Accepted, result.Verdict);
        Assert.Single(sink.MailTo(to));
        var accepted = Assert.Single(sink.Log("accepted"));
        Assert.True(accepted.GetProperty("tls").GetBoolean());
        Assert.False(Assert.Single(sink.Log("connected")).GetProperty("tls").GetBoolean()); // plain until STARTTLS
        Assert.Equal(User, accepted.GetProperty("auth").GetString());
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        // The encrypted, authenticated connection is reused.
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);
        Assert.True((await SendAsync(sender, NewAddress())).IsAccepted);
        Assert.Single(sink.Log("connected"));
    }

    [Fact]
    public async Task Implicit_tls_on_its_own_port_delivers()
    {
        var sink = await TlsSinkAsync("--implicit-tls", "--auth", $"{User}:{Password}");
        var sender = Sender(sink, SmtpSecurity.SslOnConnect, user: User, password: Password, allowUntrusted: true);
        var to = NewAddress();

        Assert.True((await SendAsync(sender, to)).IsAccepted);

        Assert.Single(sink.MailTo(to));
        Assert.True(Assert.Single(sink.Log("accepted")).GetProperty("tls").GetBoolean());
        Assert.True(Assert.Single(sink.Log("connected")).GetProperty("tls").GetBoolean());
    }

    [Fact]
    public async Task A_wrong_password_is_a_server_problem_at_auth_until_the_right_one_delivers()
    {
        var sink = await TlsSinkAsync("--require-starttls", "--auth", $"{User}:{Password}");
        var logs = new ListLogger<SmtpHealth>();
        var health = new SmtpHealth(logs);
        var wrong = Sender(sink, SmtpSecurity.StartTls, health, User, "wrong-password", allowUntrusted: true);
        var first = NewAddress();

        for (var i = 0; i < 3; i++)
        {
            var result = await SendAsync(wrong, first);
            Assert.Equal(SendVerdict.ServerProblem, result.Verdict);
            Assert.Equal(SmtpStage.Auth, result.Stage);
            Assert.Equal(535, result.Code);
            Assert.Equal("5.7.8", result.EnhancedCode);
        }

        var unhealthy = await health.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.Equal($"SMTP authentication failed at 127.0.0.1:{sink.Port} (535 5.7.8): check Smtp:Username and Smtp:Password", unhealthy.Description);
        var problem = Assert.Single(logs.Lines); // one line for three failures
        Assert.Equal(LogLevel.Error, problem.Level);
        Assert.DoesNotContain("wrong-password", problem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(User, problem.Message, StringComparison.Ordinal);
        Assert.Empty(sink.Mail());

        // The operator fixes the password (a new sender, as after a restart with the new secret); the same health hears it.
        var right = Sender(sink, SmtpSecurity.StartTls, health, User, Password, allowUntrusted: true);
        Assert.True((await SendAsync(right, first)).IsAccepted);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);
        Assert.Equal(2, logs.Lines.Count);
        Assert.Equal(LogLevel.Information, logs.Lines[1].Level);
    }

    [Fact]
    public async Task Mail_without_auth_to_a_server_that_requires_it_is_a_server_problem_at_mail_from()
    {
        var sink = await TlsSinkAsync("--auth", $"{User}:{Password}");
        var health = new SmtpHealth(new ListLogger<SmtpHealth>());
        var sender = Sender(sink, SmtpSecurity.StartTls, health, allowUntrusted: true);

        var result = await SendAsync(sender, NewAddress());

        Assert.Equal(SendVerdict.ServerProblem, result.Verdict);
        Assert.Equal(SmtpStage.MailFrom, result.Stage);
        Assert.Equal(530, result.Code);
        Assert.Equal($"The server 127.0.0.1:{sink.Port} refused MAIL FROM (530 5.7.0): it requires authentication; set Smtp:Username/Smtp:Password", health.Problem);
    }

    [Theory]
    [InlineData("Development", false)]
    [InlineData("Production", true)] // the switch is ignored outside Development (and refused at start, see the validator test)
    public async Task An_untrusted_certificate_is_refused_unless_the_development_switch_is_on_in_development(string environment, bool allowUntrusted)
    {
        var sink = await TlsSinkAsync("--require-starttls");
        var health = new SmtpHealth(new ListLogger<SmtpHealth>());
        var sender = Sender(sink, SmtpSecurity.StartTls, health, allowUntrusted: allowUntrusted, environment: environment);

        var result = await SendAsync(sender, NewAddress());

        Assert.Equal(SendVerdict.ServerProblem, result.Verdict);
        Assert.Equal(SmtpStage.Tls, result.Stage);
        Assert.Equal(0, result.Code);
        Assert.StartsWith($"TLS handshake with 127.0.0.1:{sink.Port} failed: the certificate is not trusted", health.Problem, StringComparison.Ordinal);
        Assert.Empty(sink.Log("accepted"));

        var developer = Sender(sink, SmtpSecurity.StartTls, health, allowUntrusted: true, environment: "Development");
        Assert.True((await SendAsync(developer, NewAddress())).IsAccepted);
        Assert.Null(health.Problem);
    }

    [Fact]
    public async Task Required_starttls_against_a_server_without_it_is_a_server_problem_at_tls()
    {
        var sink = await SinkAsync();
        var health = new SmtpHealth(new ListLogger<SmtpHealth>());
        var sender = Sender(sink, SmtpSecurity.StartTls, health);

        var result = await SendAsync(sender, NewAddress());

        Assert.Equal(SendVerdict.ServerProblem, result.Verdict);
        Assert.Equal(SmtpStage.Tls, result.Stage);
        Assert.Contains("does not offer STARTTLS", health.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Implicit_tls_against_a_plain_port_is_a_server_problem_at_tls()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink, SmtpSecurity.SslOnConnect, allowUntrusted: true);

        var result = await SendAsync(sender, NewAddress());

        Assert.Equal(SendVerdict.ServerProblem, result.Verdict);
        Assert.Equal(SmtpStage.Tls, result.Stage);
    }

    [Fact]
    public async Task A_username_without_tls_where_auth_needs_tls_is_a_server_problem_at_auth()
    {
        var sink = await TlsSinkAsync("--auth", $"{User}:{Password}");
        var health = new SmtpHealth(new ListLogger<SmtpHealth>());
        var sender = Sender(sink, SmtpSecurity.None, health, User, Password);

        var result = await SendAsync(sender, NewAddress());

        Assert.Equal(SendVerdict.ServerProblem, result.Verdict);
        Assert.Equal(SmtpStage.Auth, result.Stage);
        Assert.Contains("offers no AUTH", health.Problem, StringComparison.Ordinal);
    }

    // ---- DKIM over the wire ---------------------------------------------------------------------------------------

    [Fact]
    public async Task A_signed_email_still_verifies_as_received_by_the_server()
    {
        var sink = await SinkAsync();
        var sender = Sender(sink);
        using var key = RSA.Create(2048);
        var to = NewAddress();
        var message = Message(to, "Rückmeldung für Zoë ✓", ".dot first\nGrüße " + new string('x', 200), "<p>Grüße</p>\n.<b>dot</b>", EmailMimeTests.Dkim(key));

        Assert.True((await sender.SendAsync(message, CancellationToken.None)).IsAccepted);

        var received = Assert.Single(sink.MailTo(to));
        Assert.True(await EmailMimeTests.VerifyAsync(received, key));
    }

    // ---- settings -------------------------------------------------------------------------------------------------

    [Fact]
    public void The_untrusted_certificate_switch_stops_the_start_outside_development()
    {
        var options = new SmtpOptions { AllowUntrustedCertificates = true };

        var production = new SmtpOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Production }).Validate(null, options);
        var development = new SmtpOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Development }).Validate(null, options);

        Assert.True(production.Failed);
        Assert.Contains("Smtp:AllowUntrustedCertificates is a development-only switch", production.FailureMessage, StringComparison.Ordinal);
        Assert.True(development.Succeeded);
    }

    [Fact]
    public void A_username_needs_a_password_and_security_follows_the_port_when_unset()
    {
        var validator = new SmtpOptionsValidator(new HostingEnvironment { EnvironmentName = Environments.Production });

        Assert.True(validator.Validate(null, new SmtpOptions { Username = "apikey" }).Failed);
        Assert.True(validator.Validate(null, new SmtpOptions { Password = "x" }).Failed);
        Assert.True(validator.Validate(null, new SmtpOptions { Username = "apikey", Password = "x" }).Succeeded);
        Assert.Equal(SmtpSecurity.SslOnConnect, new SmtpOptions { Port = 465 }.EffectiveSecurity);
        Assert.Equal(SmtpSecurity.StartTls, new SmtpOptions { Port = 587 }.EffectiveSecurity);
        Assert.Equal(SmtpSecurity.StartTls, new SmtpOptions { Port = 25 }.EffectiveSecurity);
        Assert.Equal(SmtpSecurity.None, new SmtpOptions { Port = 25, Security = SmtpSecurity.None }.EffectiveSecurity);
    }
}
