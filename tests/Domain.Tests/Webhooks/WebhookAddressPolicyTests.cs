using System.Net;
using FeedbackHub.Domain.Webhooks;

namespace FeedbackHub.Domain.Tests.Webhooks;

public sealed class WebhookAddressPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.255.254")]
    [InlineData("0.0.0.0")]
    [InlineData("0.1.2.3")]
    [InlineData("10.0.0.1")]
    [InlineData("10.255.255.255")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.255")]
    [InlineData("169.254.169.254")]
    [InlineData("169.254.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.0.0.8")]
    [InlineData("192.0.2.10")]
    [InlineData("192.168.1.1")]
    [InlineData("198.18.0.1")]
    [InlineData("198.19.255.255")]
    [InlineData("198.51.100.7")]
    [InlineData("203.0.113.9")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("240.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("febf::1")]
    [InlineData("fc00::1")]
    [InlineData("fd00:ec2::254")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("::127.0.0.1")]
    [InlineData("::10.0.0.1")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("64:ff9b:1::1")]
    [InlineData("2002:7f00:0001::1")]
    [InlineData("2002:c0a8:0101::1")]
    [InlineData("2001:db8::1")]
    public void Blocked_addresses_are_refused_with_a_reason(string address)
    {
        var reason = WebhookAddressPolicy.Refusal(IPAddress.Parse(address));
        Assert.False(string.IsNullOrWhiteSpace(reason), $"{address} should be refused");
    }

    [Theory]
    [InlineData("1.1.1.1")]
    [InlineData("8.8.8.8")]
    [InlineData("93.184.216.34")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("169.253.255.255")]
    [InlineData("192.167.255.255")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("11.0.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2a00:1450:4001:80b::200e")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:0808:0808::1")]
    public void Public_addresses_are_allowed(string address) =>
        Assert.Null(WebhookAddressPolicy.Refusal(IPAddress.Parse(address)));

    [Fact]
    public void The_reason_names_the_range()
    {
        Assert.Contains("metadata", WebhookAddressPolicy.Refusal(IPAddress.Parse("169.254.169.254")), StringComparison.Ordinal);
        Assert.Contains("loopback", WebhookAddressPolicy.Refusal(IPAddress.Parse("::ffff:127.0.0.1")), StringComparison.Ordinal);
        Assert.Contains("NAT64", WebhookAddressPolicy.Refusal(IPAddress.Parse("64:ff9b::a00:1")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST")]
    [InlineData("localhost.")]
    [InlineData("api.localhost")]
    [InlineData("metadata.google.internal")]
    [InlineData("metadata.google.internal.")]
    [InlineData("db.internal")]
    [InlineData("printer.local")]
    [InlineData("")]
    public void Local_and_metadata_names_are_refused_by_name(string host) =>
        Assert.NotNull(WebhookAddressPolicy.RefusalForName(host));

    [Theory]
    [InlineData("ats.example.com")]
    [InlineData("hooks.greenhouse.io")]
    [InlineData("localhost.example.com")]
    [InlineData("internal.example.com")]
    public void Ordinary_names_pass_the_name_check(string host) =>
        Assert.Null(WebhookAddressPolicy.RefusalForName(host));

    [Fact]
    public async Task Ip_literals_are_checked_without_dns_and_private_ones_are_refused_unless_allowed()
    {
        var refused = await WebhookTargets.ResolveAsync("169.254.169.254", allowPrivate: false, CancellationToken.None);
        Assert.NotNull(refused.Refusal);
        var v6 = await WebhookTargets.ResolveAsync("[::1]", allowPrivate: false, CancellationToken.None);
        Assert.NotNull(v6.Refusal);
        var allowed = await WebhookTargets.ResolveAsync("127.0.0.1", allowPrivate: true, CancellationToken.None);
        Assert.True(allowed.Allowed);
        Assert.Equal(IPAddress.Loopback, Assert.Single(allowed.Addresses));
    }

    [Fact]
    public async Task A_name_resolving_to_loopback_is_refused_by_its_address()
    {
        // The machine's own host name resolves to a loopback address (e.g. /etc/hosts); it passes the name check.
        var host = Dns.GetHostName();
        Assert.Null(WebhookAddressPolicy.RefusalForName(host));
        var addresses = await Dns.GetHostAddressesAsync(host);
        Assert.Contains(addresses, IPAddress.IsLoopback); // precondition of this test
        var resolution = await WebhookTargets.ResolveAsync(host, allowPrivate: false, CancellationToken.None);
        Assert.Contains("loopback", resolution.Refusal, StringComparison.Ordinal);
    }
}
