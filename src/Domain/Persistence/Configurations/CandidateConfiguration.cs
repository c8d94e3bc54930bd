using FeedbackHub.Domain.Model;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace FeedbackHub.Domain.Persistence.Configurations;

internal sealed class CandidateConfiguration : IEntityTypeConfiguration<Candidate>
{
    public void Configure(EntityTypeBuilder<Candidate> builder)
    {
        builder.HasKey(c => c.Id);
        // An erased candidate holds no personal data, whatever writes the row (a racing upsert, a script): the
        // database refuses it.
        builder.ToTable(t => t.HasCheckConstraint("ck_candidates_erased_holds_no_personal_data",
            "erased_at IS NULL OR (first_name = '' AND last_name IS NULL AND email = '' AND locale IS NULL)"));
        builder.HasOne<Tenant>().WithMany().HasForeignKey(c => c.TenantId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(c => c.ExternalId).HasMaxLength(200);
        builder.Property(c => c.FirstName).HasMaxLength(100);
        builder.Property(c => c.LastName).HasMaxLength(100);
        builder.Property(c => c.Email).HasMaxLength(254);
        builder.Property(c => c.Locale).HasMaxLength(20);
        builder.Ignore(c => c.IsErased);
        builder.HasIndex(c => new { c.TenantId, c.ExternalId }).IsUnique();
        // The retention sweep looks for candidates not erased and not updated for a long time.
        builder.HasIndex(c => c.UpdatedAt).HasFilter("erased_at IS NULL");
    }
}
