using FeedbackHub.Domain.Email;
using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class DkimKeyConfiguration : IEntityTypeConfiguration<DkimKey>
{
    public void Configure(EntityTypeBuilder<DkimKey> builder)
    {
        builder.HasKey(k => k.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(k => k.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(k => k.State).HasConversion<string>().HasMaxLength(10);
        builder.Property(k => k.Domain).HasMaxLength(253);
        builder.Property(k => k.Selector).HasMaxLength(253);
        builder.Ignore(k => k.DnsRecord);
        builder.Ignore(k => k.Fingerprint);
        // At most one active and one pending key per tenant; the worker reads the active one by tenant.
        builder.HasIndex(k => new { k.TenantId, k.State }).IsUnique();
        builder.ToTable(t => t.HasCheckConstraint("ck_dkim_keys_activated_at", "(state = 'Active') = (activated_at IS NOT NULL)"));
    }
}
