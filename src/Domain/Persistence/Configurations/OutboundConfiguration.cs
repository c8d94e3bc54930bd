using FeedbackHub.Domain.Model;
using FeedbackHub.Domain.Outbound;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

/// <summary>
/// The shared outbound shape in one table (<c>outbound</c>) and its attempts (<c>outbound_attempts</c>); each channel's
/// own columns live in a table of its own, one row per item with the same id (table per type).
/// </summary>
internal sealed class OutboundItemConfiguration : IEntityTypeConfiguration<OutboundItem>
{
    public void Configure(EntityTypeBuilder<OutboundItem> builder)
    {
        builder.ToTable("outbound");
        builder.UseTptMappingStrategy();
        builder.HasKey(o => o.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(o => o.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(o => o.Channel).HasMaxLength(30);
        builder.Property(o => o.Status).HasConversion<string>().HasMaxLength(20);
        builder.Property(o => o.LastReply).HasMaxLength(1000);
        builder.HasIndex(o => new { o.TenantId, o.Status, o.Id });
        // Recovery: attempts whose lease ran out. Filtered on the lease, not on status = 'Sending': with that filter, a
        // statement guarded by status = 'Sending' (the webhook record, the lease renewal) could use this index, and one
        // analysed while nothing was in flight planned it as empty and walked every leased row once per row it changed
        // (WebhookRecordTests). Only a Sending item holds a lease, so both filters name the same rows.
        builder.HasIndex(o => o.LeaseUntil).HasFilter("lease_until IS NOT NULL");
        // Each dispatcher's due items, walked in due order by its pick (QueueClaims): one index per dispatcher.
        builder.HasIndex(o => o.DueAt, "ix_outbound_due_webhooks").HasFilter(QueueClaims.WebhooksDue);
        builder.HasIndex(o => o.DueAt, "ix_outbound_due_emails").HasFilter(QueueClaims.EmailsDue);
        builder.HasMany(o => o.Attempts).WithOne().HasForeignKey(a => a.OutboundId).OnDelete(DeleteBehavior.Cascade);
        builder.Navigation(o => o.Attempts).HasField("_attempts").UsePropertyAccessMode(PropertyAccessMode.Field);
        builder.Ignore(o => o.GuardingApplicationId);
        builder.Ignore(o => o.CurrentAttempt);
    }
}

internal sealed class OutboundAttemptConfiguration : IEntityTypeConfiguration<OutboundAttempt>
{
    public void Configure(EntityTypeBuilder<OutboundAttempt> builder)
    {
        builder.ToTable("outbound_attempts");
        // Half of each page left free when rows are inserted: an attempt is inserted at the claim and updated once at the
        // record (its answer makes the row longer) without changing an indexed column, so with room on its page the update
        // is HOT (no new entry in the three indexes). Full pages made 70-87 % of those updates non-HOT
        // (bench/webhooks/README.md, "What PostgreSQL writes per event").
        builder.HasStorageParameter("fillfactor", 50);
        builder.HasKey(a => a.Id);
        builder.HasIndex(a => new { a.OutboundId, a.Number }).IsUnique();
        builder.HasIndex(a => a.TenantId);
        builder.Property(a => a.Outcome).HasConversion<string>().HasMaxLength(20);
        builder.Property(a => a.Reply).HasMaxLength(1000);
        builder.Property(a => a.Detail).HasMaxLength(OutboundAttempt.MaxDetailLength);
        builder.Property(a => a.ResponseExcerpt).HasMaxLength(OutboundAttempt.MaxExcerptLength);
    }
}
