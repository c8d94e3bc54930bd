using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class ApplicationConfiguration : IEntityTypeConfiguration<Application>
{
    public void Configure(EntityTypeBuilder<Application> builder)
    {
        builder.HasKey(a => a.Id);
        builder.HasOne<Tenant>().WithMany().HasForeignKey(a => a.TenantId).OnDelete(DeleteBehavior.Cascade);
        // Erasure blanks a candidate, it never deletes the row: an application always has its candidate.
        builder.HasOne<Candidate>().WithMany().HasForeignKey(a => a.CandidateId).OnDelete(DeleteBehavior.NoAction);
        builder.Property(a => a.ExternalId).HasMaxLength(200);
        builder.Property(a => a.PositionTitle).HasMaxLength(200);
        builder.Property(a => a.StageReached).HasMaxLength(100);
        builder.Property(a => a.Status).HasConversion<string>().HasMaxLength(20);
        builder.Property(a => a.LegalHoldReason).HasMaxLength(Application.MaxLegalHoldReasonLength);
        builder.HasIndex(a => new { a.TenantId, a.ExternalId }).IsUnique();
        // The list: ordered and paged by (updated_at, id), filtered by status.
        builder.HasIndex(a => new { a.TenantId, a.UpdatedAt, a.Id });
        builder.HasIndex(a => new { a.TenantId, a.Status });
    }
}
