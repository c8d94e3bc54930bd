using FeedbackHub.Domain.Auditing;
using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class AuditEventConfiguration : IEntityTypeConfiguration<AuditEvent>
{
    public void Configure(EntityTypeBuilder<AuditEvent> builder)
    {
        builder.HasKey(e => e.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(e => e.TenantId).OnDelete(DeleteBehavior.Restrict);
        builder.HasIndex(e => new { e.TenantId, e.Sequence }).IsUnique();
        builder.Property(e => e.ActorName).HasMaxLength(100);
        builder.Property(e => e.Action).HasMaxLength(100);
        builder.Property(e => e.SubjectType).HasMaxLength(50);
        // text, not jsonb: the hash covers the exact characters written.
        builder.Property(e => e.Data).HasColumnType("text");
        builder.Property(e => e.PreviousHash).HasMaxLength(32);
        builder.Property(e => e.Hash).HasMaxLength(32);
    }
}
