using System.Collections.Concurrent;
using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using FeedbackHub.Tests;
using FeedbackHub.Worker.Smtp;
using FeedbackHub.Worker.Tests.Delivery;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Worker.Tests.Outbound;

/// <summary>A DKIM key provider that signs for one domain, fails while told to, and records what it was asked.</summary>
public sealed class RecordingDkimKeys : IDkimKeyProvider
{
    public ConcurrentQueue<(Guid TenantId, string Sender)> Asked { get; } = new();

    private static readonly string Key = System.Security.Cryptography.RSA.Create(2048).ExportPkcs8PrivateKeyPem();

    private int _failuresLeft;

    /// <summary>How many of the next lookups fail.</summary>
    public void FailNext(int lookups) => Volatile.Write(ref _failuresLeft, lookups);

    public Task<DkimSigning?> ForSenderAsync(Guid tenantId, string senderAddress, CancellationToken cancellationToken)
    {
        Asked.Enqueue((tenantId, senderAddress));
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            throw new InvalidOperationException("The key store is not reachable.");
        return Task.FromResult<DkimSigning?>(new DkimSigning(senderAddress[(senderAddress.IndexOf('@') + 1)..], "sel1", Key));
    }
}

/// <summary>The real sender, recording every message handed to it.</summary>
public sealed class RecordingEmailSender(IServiceProvider services) : IEmailSender
{
    private readonly MailKitEmailSender _inner = ActivatorUtilities.CreateInstance<MailKitEmailSender>(services);

    public ConcurrentQueue<EmailMessage> Sent { get; } = new();

    public Task<SendResult> SendAsync(EmailMessage message, CancellationToken cancellationToken)
    {
        Sent.Enqueue(message);
        return _inner.SendAsync(message, cancellationToken);
    }
}

/// <summary>The API and a worker whose DKIM provider and email sender are recording doubles around the real SMTP path.</summary>
public sealed class HandOverFixture : IAsyncLifetime
{
    public ApiFactory Api { get; } = new();

    public WorkerHost Worker { get; private set; } = null!;

    public RecordingDkimKeys Dkim { get; } = new();

    public RecordingEmailSender Sender => (RecordingEmailSender)Worker.Get<IEmailSender>();

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        Worker = await WorkerHost.StartAsync(Api.Database.ConnectionString, "t" + Guid.NewGuid().ToString("N")[..10], DeliveryFixture.WorkerSettings(6), services =>
        {
            services.AddSingleton<IDkimKeyProvider>(Dkim);
            services.AddSingleton<IEmailSender, RecordingEmailSender>();
        });
    }

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
    }
}

/// <summary>
/// Where an email is handed to the sender: the tenant's DKIM key for the sender address is on it, for every email
/// channel; a key that cannot be read sends nothing and the email goes out once it can.
/// </summary>
public sealed class EmailHandOverTests(HandOverFixture fixture) : IClassFixture<HandOverFixture>
{
    [Fact]
    public async Task Every_email_channel_hands_its_email_over_with_the_senders_DKIM_key()
    {
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api, senderAddress: "talent@signed.example");
        var feedbackTo = MailSink.NewAddress("dkim-feedback");
        var scheduled = await arrange.DeliveryAsync(feedbackTo);
        var inviteTo = MailSink.NewAddress("dkim-invite");
        var story = (await arrange.SubmittedStoriesAsync([inviteTo]))[0];
        await using (var db = fixture.Api.Database.CreateDbContext())
            await OutboundSteps.QueueInvitationAsync(db, arrange.TenantId, story.ApplicationId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        var testTo = MailSink.NewAddress("dkim-test");
        (await arrange.Tenant!.Admin.PostJsonAsync("/v1/diagnostics/test-email", new { to = testTo })).EnsureSuccessStatusCode();

        foreach (var to in new[] { feedbackTo, inviteTo, testTo })
            await MailSink.WaitForAsync(to);
        var handed = fixture.Sender.Sent.Where(m => m.To.Address is var a && (a == feedbackTo || a == inviteTo || a == testTo)).ToList();
        Assert.Equal(3, handed.Count);
        Assert.Equal(("signed.example", "sel1"), (handed.Single(m => m.To.Address == feedbackTo).Dkim?.Domain, handed.Single(m => m.To.Address == feedbackTo).Dkim?.Selector));
        Assert.Equal("signed.example", handed.Single(m => m.To.Address == inviteTo).Dkim?.Domain);
        Assert.Equal("feedbackhub.local", handed.Single(m => m.To.Address == testTo).Dkim?.Domain); // the worker's own sender
        Assert.Contains(fixture.Dkim.Asked, a => a == (arrange.TenantId, "talent@signed.example"));
        Assert.Contains(fixture.Dkim.Asked, a => a == (arrange.TenantId, "noreply@feedbackhub.local"));
        Assert.Equal(OutboundStatus.Sent, (await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent)).Status);
    }

    [Fact]
    public async Task A_DKIM_key_that_cannot_be_read_sends_nothing_and_the_email_goes_out_once_it_can()
    {
        var arrange = await DeliveryArrange.TenantAsync(fixture.Api);
        var to = MailSink.NewAddress("dkim-broken");
        fixture.Dkim.FailNext(2);
        var scheduled = await arrange.DeliveryAsync(to);

        var sent = await arrange.WaitForStatusAsync(scheduled.Id, OutboundStatus.Sent, TimeSpan.FromSeconds(30));
        Assert.Equal([AttemptOutcome.NotSent, AttemptOutcome.NotSent, AttemptOutcome.Accepted], DeliveryArrange.Outcomes(sent));
        Assert.False(sent.PossibleDuplicate);
        Assert.All(sent.Attempts.Where(a => a.Outcome == AttemptOutcome.NotSent), a => Assert.False(a.CountsAgainstBudget));
        await Task.Delay(500);
        Assert.Single(MailSink.For(to));
        Assert.Single(MailSink.LogFor(to));
    }
}
